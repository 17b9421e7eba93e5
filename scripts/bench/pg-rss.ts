// The memory phase of bench:pg: RSS of a leader after many payments (filled in with the memory work).
export async function rssAfterPayments(_url: string, _schema: string, _payments: number): Promise<number> {
  throw new Error("not measured yet");
}
