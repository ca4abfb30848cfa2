/** Local time of the deployments: UTC+7 (Asia/Ho_Chi_Minh, no DST). */
const UTC_OFFSET_HOURS = 7;
const HOUR = 3_600_000;

/** Local hour of day 0..24 at simulated epoch ms t. */
export function localHour(t: number): number {
  const h = (t / HOUR + UTC_OFFSET_HOURS) % 24;
  return h < 0 ? h + 24 : h;
}

/** A bump centred on hour mu (width sigma hours), wrapping around midnight. */
export function hourBump(hour: number, mu: number, sigma: number): number {
  let d = Math.abs(hour - mu);
  if (d > 12) d = 24 - d;
  return Math.exp(-(d * d) / (2 * sigma * sigma));
}

/** Road traffic intensity 0..~1: morning peak around 07:30, evening peak around 18:00, quiet at night. */
export function traffic(hour: number): number {
  return 0.12 + 0.85 * hourBump(hour, 7.5, 1.2) + 0.8 * hourBump(hour, 18, 1.5) + 0.25 * hourBump(hour, 12, 3);
}

/** Sunlight 0..1, peaking early afternoon. */
export function sunlight(hour: number): number {
  return Math.max(0, Math.sin((Math.PI * (hour - 6)) / 12.5));
}

/** Air temperature in C for a tropical city: coolest before dawn, warmest mid-afternoon. */
export function airTemperature(hour: number, mean: number): number {
  return mean + 4 * Math.sin((2 * Math.PI * (hour - 9)) / 24);
}

/** Relative humidity in %, falling as the air warms. */
export function relativeHumidity(temperature: number, mean: number, meanTemperature: number): number {
  return Math.min(98, Math.max(35, mean - 3.5 * (temperature - meanTemperature)));
}
