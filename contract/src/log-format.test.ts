import { describe, expect, it } from 'vitest';
import { chooseLogFormat } from './log-format.js';

describe('chooseLogFormat', () => {
  it('is pretty at a terminal and JSON under systemd or in a pipe', () => {
    expect(chooseLogFormat({ env: {}, stdoutIsTTY: true })).toEqual({ ok: true, format: 'pretty' });
    expect(chooseLogFormat({ env: { JOURNAL_STREAM: '8:1234' }, stdoutIsTTY: true })).toEqual({ ok: true, format: 'json' });
    expect(chooseLogFormat({ env: {}, stdoutIsTTY: false })).toEqual({ ok: true, format: 'json' });
  });

  it('follows the flag, then the environment', () => {
    expect(chooseLogFormat({ flag: 'pretty', env: { CITYEDGE_LOG_FORMAT: 'json' }, stdoutIsTTY: false })).toEqual({ ok: true, format: 'pretty' });
    expect(chooseLogFormat({ env: { CITYEDGE_LOG_FORMAT: 'pretty' }, stdoutIsTTY: false })).toEqual({ ok: true, format: 'pretty' });
    expect(chooseLogFormat({ flag: 'json', env: {}, stdoutIsTTY: true })).toEqual({ ok: true, format: 'json' });
  });

  it('names the flag or variable that is wrong', () => {
    expect(chooseLogFormat({ flag: 'text', env: {}, stdoutIsTTY: true })).toEqual({ ok: false, message: '--log-format: expected json or pretty, got "text"' });
    expect(chooseLogFormat({ env: { CITYEDGE_LOG_FORMAT: 'xml' }, stdoutIsTTY: true })).toEqual({ ok: false, message: 'CITYEDGE_LOG_FORMAT: expected json or pretty, got "xml"' });
  });
});
