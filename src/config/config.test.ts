import { ConfigError, loadConfig, parseDuration, parseImapUrl } from './config';
import { DEV_LINK_SECRET } from './published-secrets';

describe('loadConfig', () => {
  it('has local defaults for every URL outside production', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toMatch(/^postgres:/);
    expect(c.mailboxes[0]?.mailbox).toBe('INBOX');
    expect(c.port).toBe(3000);
  });

  it('reports every problem, one line each, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty', REDIS_URL: 'http://x', LINK_SECRET: 'short-secret-value' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^PORT:/), expect.stringMatching(/^REDIS_URL:/), expect.stringMatching(/^LINK_SECRET:/)]));
    expect((error as Error).message).not.toContain('short-secret-value');
  });

  it('requires the secrets in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/LINK_SECRET: required[\s\S]*API_TOKEN: required/);
  });

  it('refuses a published secret in production together with every other problem, naming the variable only', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty', LINK_SECRET: DEV_LINK_SECRET, LINK_SECRET_PREVIOUS: 'compose-placeholder-link-secret-change-me', API_TOKEN: 'own-token-0123456789abcdef' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([expect.stringMatching(/^PORT:/), expect.stringMatching(/^LINK_SECRET: is a value published/), expect.stringMatching(/^LINK_SECRET_PREVIOUS: is a value published/)]);
    expect((error as Error).message).not.toContain(DEV_LINK_SECRET);
    expect((error as Error).message).not.toContain('compose-placeholder');
  });

  it('accepts the published development values outside production, and the operator\'s own in production', () => {
    expect(loadConfig({ NODE_ENV: 'development', API_TOKEN: 'demo-api-token-change-me' }).apiToken).toBe('demo-api-token-change-me');
    expect(loadConfig({}).linkSecret).toBe(DEV_LINK_SECRET);
    const own = loadConfig({ NODE_ENV: 'production', LINK_SECRET: 'f'.repeat(64), API_TOKEN: 'e'.repeat(32), METRICS_TOKEN: 'd'.repeat(32) });
    expect(own.linkSecret).toBe('f'.repeat(64));
  });

  it('reads TRUST_PROXY: unset trusts no proxy, else addresses, CIDRs and named ranges, or a hop count', () => {
    expect(loadConfig({}).trustProxy).toEqual({ kind: 'none' });
    expect(loadConfig({ TRUST_PROXY: '' }).trustProxy).toEqual({ kind: 'none' });
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,fd00::/8 loopback' }).trustProxy).toEqual({ kind: 'addresses', addresses: ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'loopback'] });
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ kind: 'hops', hops: 2 });
    for (const bad of ['true', '0', '10.0.0.0/33', 'proxy.internal', '::1/129']) expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY: /);
  });

  it('reads SEND_YIELD_SECONDS in seconds, 0 meaning never, and refuses a negative wait', () => {
    expect(loadConfig({}).sendYieldMs).toBe(30_000);
    expect(loadConfig({ SEND_YIELD_SECONDS: '0' }).sendYieldMs).toBe(0);
    expect(loadConfig({ SEND_YIELD_SECONDS: '2.5' }).sendYieldMs).toBe(2_500);
    expect(() => loadConfig({ SEND_YIELD_SECONDS: '-1' })).toThrow(/SEND_YIELD_SECONDS/);
  });

  it('treats an empty IMAP_URL as "no watcher"', () => {
    expect(loadConfig({ IMAP_URL: '' }).mailboxes).toEqual([]);
  });

  it('watches every mailbox IMAP_URL lists, separated by commas or spaces, and names a bad one', () => {
    const c = loadConfig({ IMAP_URL: 'imap://a:p@mx1.test/INBOX, imaps://b:q@mx2.test/Support\nimap://c:r@mx3.test' });
    expect(c.mailboxes.map((m) => m.id)).toEqual(['imap://a@mx1.test:143/INBOX', 'imaps://b@mx2.test:993/Support', 'imap://c@mx3.test:143/INBOX']);
    expect(() => loadConfig({ IMAP_URL: 'imap://a:p@mx1.test, http://x' })).toThrow(/IMAP_URL/);
  });
});

describe('parseImapUrl', () => {
  it('decodes user and password and keeps the password out of the id', () => {
    const t = parseImapUrl('imaps://help%40acme.test:p%40ss%3Aword@mail.acme.test/Support%20Inbox');
    expect(t).toMatchObject({ secure: true, port: 993, mailbox: 'Support Inbox', auth: { method: 'password', user: 'help@acme.test', password: 'p@ss:word' } });
    expect(t.id).not.toContain('p%40ss');
  });
});

describe('parseDuration', () => {
  it('reads the units an operator writes', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('45')).toBe(45_000);
  });

  it('refuses nonsense and zero', () => {
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('0s')).toBeNull();
    expect(parseDuration('-5m')).toBeNull();
  });

  it('is validated at start like every other setting', () => {
    expect(() => loadConfig({ APPROVAL_TTL: 'a week' })).toThrow(/APPROVAL_TTL: must be a duration/);
    expect(loadConfig({ APPROVAL_TTL: '90s' }).approvalTtlMs).toBe(90_000);
  });
});

describe('DISPLAY_TIME_ZONE, VENDOR_NAME, VENDOR_LOGO_URL', () => {
  const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('defaults to no zone (UTC, the viewer’s on pages), "Support" and no logo', () => {
    expect(loadConfig({}).display).toEqual({ timeZone: null, vendor: { name: 'Support', logoUrl: null } });
    expect(loadConfig({ DISPLAY_TIME_ZONE: '', VENDOR_LOGO_URL: '' }).display).toEqual({ timeZone: null, vendor: { name: 'Support', logoUrl: null } });
  });

  it('takes an IANA zone, a name and a logo URL', () => {
    const c = loadConfig({ DISPLAY_TIME_ZONE: 'Europe/Berlin', VENDOR_NAME: ' Acme Hosting ', VENDOR_LOGO_URL: 'http://cdn.example.test/logo.png' });
    expect(c.display).toEqual({ timeZone: 'Europe/Berlin', vendor: { name: 'Acme Hosting', logoUrl: 'http://cdn.example.test/logo.png' } });
  });

  it('refuses a zone Intl does not know, an empty name and a logo that is not a web URL', () => {
    expect(problemsOf({ DISPLAY_TIME_ZONE: 'Europe/Atlantis', VENDOR_NAME: '  ', VENDOR_LOGO_URL: 'ftp://x.test/logo.png' })).toEqual([
      expect.stringMatching(/^DISPLAY_TIME_ZONE: must be an IANA time zone name/),
      expect.stringMatching(/^VENDOR_NAME:/),
      expect.stringMatching(/^VENDOR_LOGO_URL:/),
    ]);
  });

  it('wants the logo over https in production, with the other problems', () => {
    const production = { NODE_ENV: 'production', LINK_SECRET: 'a-link-secret-of-the-operators-own-0123', API_TOKEN: 'own-token-0123456789abcdef' };
    expect(problemsOf({ ...production, VENDOR_LOGO_URL: 'http://cdn.example.test/logo.png', DISPLAY_TIME_ZONE: 'Nowhere/Land' })).toEqual([
      expect.stringMatching(/^DISPLAY_TIME_ZONE:/),
      'VENDOR_LOGO_URL: must be https in production (a page over https cannot show an http image)',
    ]);
    expect(loadConfig({ ...production, VENDOR_LOGO_URL: 'https://cdn.example.test/logo.png' }).display.vendor.logoUrl).toBe('https://cdn.example.test/logo.png');
  });
});
