/**
 * A day's takings (GET /api/v1/wallet/sales): no imports, so the browser console shares it through
 * gateway/api-types.ts instead of keeping a copy.
 */
export interface SalesSummary {
  date: string;
  count: number;
  grossFen: number;
  refundsFen: number;
  netFen: number;
  buyers: number;
  byTerminal: { readerId: string; count: number; sumFen: number }[];
  byHour: { hour: number; count: number; sumFen: number }[];
}
