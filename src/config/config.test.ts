import { ConfigError, loadConfig, parseImapUrl } from './config';

describe('loadConfig', () => {
  it('has local defaults for every URL outside production', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toMatch(/^postgres:/);
    expect(c.imap?.mailbox).toBe('INBOX');
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

  it('treats an empty IMAP_URL as "no watcher"', () => {
    expect(loadConfig({ IMAP_URL: '' }).imap).toBeNull();
  });
});

describe('parseImapUrl', () => {
  it('decodes user and password and keeps the password out of the id', () => {
    const t = parseImapUrl('imaps://help%40acme.test:p%40ss%3Aword@mail.acme.test/Support%20Inbox');
    expect(t).toMatchObject({ secure: true, port: 993, user: 'help@acme.test', password: 'p@ss:word', mailbox: 'Support Inbox' });
    expect(t.id).not.toContain('p%40ss');
  });
});
