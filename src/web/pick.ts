/**
 * The named fields of `from` and no others (absent optional ones stay absent): the composition
 * root hands each route module the dependencies it declares, not the whole bag.
 */
export function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) if (key in from) picked[key] = from[key];
  return picked;
}
