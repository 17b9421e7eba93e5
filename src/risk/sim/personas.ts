/** Normal agent behaviour: what each kind of agent buys, where, how much and when. */

export interface CategoryProfile {
  mcc: string;
  /** Share of the persona's payments in this category. */
  weight: number;
  /** Merchants in the category's pool (popularity follows Zipf). */
  pool: number;
  /** Median amount in minor units and spread (sigma of the log). */
  medianMinor: number;
  sigma: number;
}

export interface Persona {
  name: string;
  categories: CategoryProfile[];
  /** Mean payments per day (before the daily rhythm). */
  perDay: number;
  /** Relative activity per hour of day (UTC). */
  hours: number[];
  weekendFactor: number;
  /** Merchants an agent of this persona regularly uses per category (min, max). */
  preferred: [number, number];
  /** Chance that a payment goes to a merchant outside the agent's usual ones. */
  explore: number;
  /** Fixed price points (subscriptions, API credit top-ups) instead of free amounts. */
  fixedPrices?: boolean;
  /** Shortest gap between two payments (top-ups are triggered by a low balance). */
  minGapMs?: number;
  /** Payments that come in a short session (a trip: flight + hotel + car). */
  sessionSize?: [number, number];
  /** Approval threshold as a multiple of the typical amount (the person's policy). */
  approvalMultiple: number;
}

const DAYTIME = [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1, 1, 1.1, 1.3, 1, 0.9, 0.9, 1, 1.3, 1.5, 1.4, 1.1, 0.8, 0.5, 0.2];
const MEALS = [0.05, 0.02, 0.01, 0.01, 0.01, 0.02, 0.1, 0.3, 0.3, 0.2, 0.4, 1.5, 2, 1, 0.3, 0.3, 0.6, 1.5, 2, 1.8, 1, 0.5, 0.3, 0.1];
const ALWAYS = [0.5, 0.45, 0.4, 0.4, 0.4, 0.45, 0.6, 0.8, 1, 1.1, 1.1, 1.1, 1, 1.1, 1.1, 1.1, 1, 1, 0.9, 0.8, 0.7, 0.6, 0.6, 0.5];
const BILLING = [1.5, 1.5, 1.2, 1, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.8, 1.2];

export const PERSONAS: Persona[] = [
  {
    name: "travel", perDay: 0.35, hours: DAYTIME, weekendFactor: 1.2, preferred: [1, 3], explore: 0.25,
    sessionSize: [1, 3], approvalMultiple: 5,
    categories: [
      { mcc: "4511", weight: 0.4, pool: 40, medianMinor: 24_000, sigma: 0.6 },
      { mcc: "7011", weight: 0.35, pool: 120, medianMinor: 18_000, sigma: 0.6 },
      { mcc: "7512", weight: 0.1, pool: 15, medianMinor: 9_000, sigma: 0.5 },
      { mcc: "4121", weight: 0.1, pool: 10, medianMinor: 3_500, sigma: 0.6 },
      { mcc: "4112", weight: 0.05, pool: 10, medianMinor: 6_000, sigma: 0.6 },
    ],
  },
  {
    name: "groceries", perDay: 0.9, hours: DAYTIME, weekendFactor: 1.6, preferred: [1, 3], explore: 0.03,
    approvalMultiple: 5,
    categories: [
      { mcc: "5411", weight: 0.85, pool: 60, medianMinor: 7_500, sigma: 0.45 },
      { mcc: "5499", weight: 0.1, pool: 40, medianMinor: 2_500, sigma: 0.5 },
      { mcc: "5912", weight: 0.05, pool: 20, medianMinor: 2_000, sigma: 0.6 },
    ],
  },
  {
    name: "food", perDay: 1.1, hours: MEALS, weekendFactor: 1.3, preferred: [3, 8], explore: 0.08,
    approvalMultiple: 6,
    categories: [
      { mcc: "5812", weight: 0.6, pool: 300, medianMinor: 3_200, sigma: 0.45 },
      { mcc: "5814", weight: 0.4, pool: 80, medianMinor: 1_600, sigma: 0.4 },
    ],
  },
  {
    name: "shopping", perDay: 0.45, hours: DAYTIME, weekendFactor: 1.5, preferred: [2, 6], explore: 0.15,
    approvalMultiple: 8,
    categories: [
      { mcc: "5311", weight: 0.35, pool: 30, medianMinor: 5_000, sigma: 0.8 },
      { mcc: "5651", weight: 0.25, pool: 80, medianMinor: 6_000, sigma: 0.6 },
      { mcc: "5942", weight: 0.15, pool: 20, medianMinor: 2_500, sigma: 0.5 },
      { mcc: "5732", weight: 0.15, pool: 30, medianMinor: 12_000, sigma: 0.9 },
      { mcc: "5999", weight: 0.1, pool: 100, medianMinor: 3_000, sigma: 0.8 },
    ],
  },
  {
    name: "subscriptions", perDay: 0.25, hours: BILLING, weekendFactor: 1, preferred: [3, 8], explore: 0.1,
    fixedPrices: true, approvalMultiple: 6,
    categories: [
      { mcc: "4899", weight: 0.35, pool: 20, medianMinor: 1_500, sigma: 0.5 },
      { mcc: "5815", weight: 0.3, pool: 30, medianMinor: 1_000, sigma: 0.5 },
      { mcc: "5817", weight: 0.25, pool: 40, medianMinor: 2_000, sigma: 0.7 },
      { mcc: "5968", weight: 0.1, pool: 30, medianMinor: 3_000, sigma: 0.6 },
    ],
  },
  {
    name: "api-credits", perDay: 5, hours: ALWAYS, weekendFactor: 0.7, preferred: [1, 2], explore: 0.01,
    fixedPrices: true, minGapMs: 20 * 60_000, approvalMultiple: 4,
    categories: [
      { mcc: "7372", weight: 0.7, pool: 12, medianMinor: 3_000, sigma: 0.8 },
      { mcc: "4816", weight: 0.3, pool: 10, medianMinor: 5_000, sigma: 0.8 },
    ],
  },
  {
    // a general personal assistant: errands across many kinds of merchant
    name: "assistant", perDay: 0.8, hours: DAYTIME, weekendFactor: 1.3, preferred: [1, 3], explore: 0.15,
    approvalMultiple: 6,
    categories: [
      { mcc: "5812", weight: 0.25, pool: 300, medianMinor: 4_000, sigma: 0.5 },
      { mcc: "5411", weight: 0.2, pool: 60, medianMinor: 6_000, sigma: 0.5 },
      { mcc: "4121", weight: 0.15, pool: 10, medianMinor: 2_500, sigma: 0.5 },
      { mcc: "5311", weight: 0.15, pool: 30, medianMinor: 4_000, sigma: 0.8 },
      { mcc: "5815", weight: 0.1, pool: 30, medianMinor: 1_200, sigma: 0.5 },
      { mcc: "7230", weight: 0.08, pool: 50, medianMinor: 5_000, sigma: 0.4 },
      { mcc: "5992", weight: 0.07, pool: 40, medianMinor: 6_000, sigma: 0.4 },
    ],
  },
];

export const PERSONA_WEIGHTS = [0.11, 0.18, 0.18, 0.14, 0.15, 0.14, 0.1];

/** Cash-out categories attackers like: gift cards, money transfer, crypto. */
export const CASHOUT_CATEGORIES: CategoryProfile[] = [
  { mcc: "5947", weight: 0.4, pool: 10, medianMinor: 10_000, sigma: 0.5 },
  { mcc: "4829", weight: 0.3, pool: 8, medianMinor: 20_000, sigma: 0.5 },
  { mcc: "6051", weight: 0.3, pool: 8, medianMinor: 25_000, sigma: 0.6 },
];

/** Categories card testers use: donations, digital goods. */
export const CARD_TEST_CATEGORIES = ["8398", "5815", "5818"];
