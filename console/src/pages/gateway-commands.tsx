import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type CommandRecord, type DeviceRecord, type SentCommand, type LineView } from '../api';
import { t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote } from '../ui';

const DONE = new Set(['succeeded', 'failed', 'refused', 'expired']);

/** Read now, write a point, scan a line (with progress), restart; results as they come. */
export function CommandsPanel({ gatewayId, devices, lines }: { gatewayId: string; devices: DeviceRecord[]; lines: LineView[] }) {
  const [sent, setSent] = useState<Array<CommandRecord & Partial<Pick<SentCommand, 'warning'>>>>([]);
  const [error, setError] = useState<string>();
  const [dev, setDev] = useState('');
  const [line, setLine] = useState('');
  const [point, setPoint] = useState('');
  const [value, setValue] = useState('');
  const device = dev || devices[0]?.id || '';
  const lineId = line || lines[0]?.id || '';

  const update = (c: CommandRecord) => setSent((s) => s.map((x) => (x.id === c.id ? { ...x, ...c } : x)));
  useStream(['command.result'], (_n, data) => update(data as CommandRecord), gatewayId);
  const pending = sent.filter((c) => !DONE.has(c.state)).map((c) => c.id).join(',');
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => {
      for (const id of pending.split(',')) api.getCommand(id).then(update, () => undefined);
    }, 1500);
    return () => clearInterval(timer);
  }, [pending]);

  const send = async (name: string, args: Record<string, unknown>) => {
    setError(undefined);
    try {
      const c = await api.sendCommand(gatewayId, name, args);
      setSent((s) => [c, ...s].slice(0, 20));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const parsedValue = value === 'true' ? true : value === 'false' ? false : Number(value);

  return (
    <section aria-labelledby="cmd-title">
      <h2 id="cmd-title">{t('cmd.title')}</h2>
      <div class="card form cmds">
        <label>
          {t('dev.device')}
          <select value={device} onChange={(e) => setDev(e.currentTarget.value)}>
            {devices.map((d) => (
              <option key={d.id} value={d.id}>
                {d.id}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!device} onClick={() => send('device.read', { dev: device })}>
          {t('cmd.readNow')}
        </button>
        <label>
          {t('gw.point')}
          <input value={point} onInput={(e) => setPoint(e.currentTarget.value)} />
        </label>
        <label>
          {t('gw.value')}
          <input value={value} inputMode="decimal" onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="button" disabled={!device || !point || value === ''} onClick={() => send('point.write', { dev: device, pt: point, value: parsedValue })}>
          {t('cmd.write')}
        </button>
        <label>
          {t('dev.line')}
          <select value={lineId} onChange={(e) => setLine(e.currentTarget.value)}>
            {lines.map((l) => (
              <option key={l.id} value={l.id}>
                {l.id}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!lineId} onClick={() => send('line.scan', { line: lineId, from: 1, to: 247 })}>
          {t('cmd.scan')}
        </button>
        <button type="button" class="danger" onClick={() => confirm(t('cmd.restartConfirm')) && send('agent.restart', {})}>
          {t('cmd.restart')}
        </button>
      </div>
      <ErrorNote error={error} />
      <ul class="cmd-results" aria-live="polite">
        {sent.map((c) => (
          <li key={c.id} class="card" data-command={c.name} data-state={c.state}>
            <strong>{c.name}</strong> <span class={`badge ${c.state === 'succeeded' ? 'ok' : DONE.has(c.state) ? 'bad' : 'muted'}`}>{c.state}</span>
            {c.progress && c.progress.total > 0 && (
              <progress max={c.progress.total} value={c.progress.done} aria-label={t('cmd.progress')}>
                {c.progress.done}/{c.progress.total}
              </progress>
            )}
            {c.warning && <p class="small warn">{c.warning}</p>}
            {c.error && <p class="small error">{`${c.error.message} (${c.error.code})`}</p>}
            {c.result !== null && c.result !== undefined && <pre class="small">{JSON.stringify(c.result, null, 2)}</pre>}
          </li>
        ))}
      </ul>
    </section>
  );
}
