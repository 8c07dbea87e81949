/** A call to the service's HTTP API with its bearer token; the JSON answer, or an error naming what failed. */
export async function apiOk(base: string, token: string, method: string, url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(base + url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}
