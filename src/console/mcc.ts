// Merchant category codes (ISO 18245) a person is likely to meet, in words. Others show as their code.
const NAMES: Readonly<Record<string, string>> = {
  "4111": "Commuter transport", "4121": "Taxis and rideshares", "4131": "Bus lines", "4411": "Cruise lines", "4511": "Airlines",
  "4722": "Travel agencies", "4789": "Transportation services", "4812": "Telecom equipment", "4814": "Telecom services",
  "4816": "Computer networks and information services", "4829": "Money transfer", "4899": "Cable and streaming services",
  "4900": "Utilities", "5045": "Computers and software", "5192": "Books and newspapers", "5311": "Department stores",
  "5399": "General merchandise", "5411": "Groceries and supermarkets", "5499": "Food stores", "5541": "Service stations",
  "5651": "Clothing", "5691": "Clothing stores", "5732": "Electronics", "5734": "Computer software stores", "5735": "Record stores",
  "5811": "Caterers", "5812": "Restaurants", "5814": "Fast food", "5815": "Digital media", "5816": "Digital games",
  "5817": "Digital applications", "5818": "Digital goods", "5912": "Pharmacies", "5942": "Book stores", "5968": "Subscriptions",
  "5969": "Direct marketing", "5999": "Miscellaneous retail", "6012": "Financial institutions", "6051": "Quasi-cash",
  "6300": "Insurance", "7011": "Hotels and lodging", "7210": "Laundry", "7299": "Personal services", "7311": "Advertising",
  "7372": "Computer programming and data processing", "7379": "Computer services", "7399": "Business services", "7512": "Car rental",
  "7523": "Parking", "7832": "Cinemas", "7922": "Theatre tickets", "7995": "Gambling", "7997": "Clubs and memberships",
  "8011": "Doctors", "8062": "Hospitals", "8099": "Health services", "8220": "Colleges and universities", "8299": "Schools",
  "8398": "Charities", "8999": "Professional services", "9399": "Government services",
};

/** "Airlines (MCC 4511)", or "MCC 9876" for a code without a name here. */
export function categoryLabel(mcc: string): string {
  const name = NAMES[mcc] ?? (/^3[0-2]\d\d$/.test(mcc) ? "Airlines" : /^3[5-7]\d\d$/.test(mcc) ? "Hotels and lodging" : undefined);
  return name ? `${name} (MCC ${mcc})` : `MCC ${mcc}`;
}
