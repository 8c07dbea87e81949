/** Builds small, valid RFC 5322 messages for tests that need many distinct ones. */
export function makeMessage(opts: { from: string; subject: string; id: string; to?: string; body?: string }): Buffer {
  return Buffer.from(
    [
      `From: ${opts.from}`,
      `To: ${opts.to ?? 'support@support.example.com'}`,
      `Subject: ${opts.subject}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${opts.id}@tests.case-intake.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      opts.body ?? `Message ${opts.id}`,
      '',
    ].join('\r\n'),
  );
}
