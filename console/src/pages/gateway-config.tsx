import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type ConfigVersionSummary, type GatewayView, type ProblemItem, type User } from '../api';
import { diffLines, withContext, type DiffLine } from '../diff';
import { fmtTime, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote } from '../ui';

const STATE_CLASS: Record<string, string> = { committed: 'ok', rejected: 'bad', rolled_back: 'bad', failed: 'bad' };

function ConfigState({ state }: { state: string }) {
  const known = ['pending', 'delivered', 'applied', 'committed', 'rejected', 'rolled_back', 'superseded'] as const;
  const k = (known as readonly string[]).includes(state) ? (state as (typeof known)[number]) : undefined;
  return <span class={`badge ${STATE_CLASS[state] ?? 'muted'}`}>{k ? t(`cfg.state.${k}`) : state}</span>;
}

/** Push the composed configuration, watch the report, compare versions and roll back. */
export function ConfigPanel({ gateway, user, timeZone, onChanged }: { gateway: GatewayView; user: User; timeZone: string | undefined; onChanged: () => void }) {
  const [versions, setVersions] = useState<ConfigVersionSummary[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [problems, setProblems] = useState<ProblemItem[]>([]);
  const [pushed, setPushed] = useState<number>();
  const [a, setA] = useState<number>();
  const [b, setB] = useState<number>();
  const [diff, setDiff] = useState<Array<DiffLine | null>>();
  const id = gateway.id;
  const canPush = user.role !== 'viewer';

  const load = () => api.listConfigs(id).then(setVersions, (err) => setError(errorText(err)));
  useEffect(() => {
    load();
  }, [id]);
  useStream(
    ['config.report'],
    (_n, data) => {
      if ((data as { gatewayId?: string }).gatewayId === id) {
        load();
        onChanged();
      }
    },
    id,
  );
  // Until the pushed version is decided, look at it now and then too (a report may come while the stream reconnects).
  const pushedState = versions.find((v) => v.version === pushed)?.state;
  useEffect(() => {
    if (pushed === undefined || (pushedState && !['pending', 'delivered', 'applied'].includes(pushedState))) return;
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [pushed, pushedState]);

  const push = async () => {
    setBusy(true);
    setError(undefined);
    setProblems([]);
    try {
      const issued = await api.pushConfig(id);
      setPushed(issued.version);
      await load();
      onChanged();
    } catch (err) {
      setError(errorText(err));
      setProblems((err as { problems?: ProblemItem[] }).problems ?? []);
    } finally {
      setBusy(false);
    }
  };
  const rollback = async (version: number) => {
    setBusy(true);
    setError(undefined);
    try {
      const issued = await api.rollbackConfig(id, version);
      setPushed(issued.version);
      await load();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const compare = async () => {
    if (a === undefined || b === undefined) return;
    try {
      const [x, y] = await Promise.all([api.getConfig(id, a), api.getConfig(id, b)]);
      setDiff(withContext(diffLines(JSON.stringify(x.document, null, 2), JSON.stringify(y.document, null, 2))));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const report = pushed !== undefined ? versions.find((v) => v.version === pushed) : undefined;
  const lineProblems = gateway.status.problems;

  return (
    <section aria-labelledby="cfg-title">
      <h2 id="cfg-title">{t('cfg.title')}</h2>
      {canPush && (
        <p class="btn-row">
          <button type="button" class="primary" onClick={push} disabled={busy} id="push-config">
            {t('cfg.push')}
          </button>
        </p>
      )}
      <ErrorNote error={error} />
      {problems.length > 0 && (
        <ul class="problems">
          {problems.map((p) => (
            <li key={p.path}>
              <code>{p.path}</code>: {p.message}
            </li>
          ))}
        </ul>
      )}
      {report && (
        <p class="card report" id="config-report" data-state={report.state} aria-live="polite">
          {t('cfg.version', { v: report.version })} <ConfigState state={report.state} />
          {report.reason ? ` ${report.reason}` : ''}
        </p>
      )}
      {lineProblems && <pre class="small problems">{JSON.stringify(lineProblems, null, 2)}</pre>}
      {versions.length > 0 && (
        <>
          <table class="versions">
            <thead>
              <tr>
                <th scope="col">{t('cfg.versionCol')}</th>
                <th scope="col">{t('cfg.stateCol')}</th>
                <th scope="col">{t('cfg.byCol')}</th>
                <th scope="col">{t('gw.time')}</th>
                <th scope="col">{t('cfg.compareA')}</th>
                <th scope="col">{t('cfg.compareB')}</th>
                {canPush && <th scope="col"><span class="sr-only">{t('cfg.rollback')}</span></th>}
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <td class="num">{v.version}</td>
                  <td>
                    <ConfigState state={v.state} />
                    {v.reason && <span class="small muted"> {v.reason}</span>}
                  </td>
                  <td class="small">{v.createdBy}</td>
                  <td class="small">{fmtTime(v.createdAt, timeZone)}</td>
                  <td>
                    <input type="radio" name="cmp-a" aria-label={t('cfg.compareAOf', { v: v.version })} checked={a === v.version} onChange={() => setA(v.version)} />
                  </td>
                  <td>
                    <input type="radio" name="cmp-b" aria-label={t('cfg.compareBOf', { v: v.version })} checked={b === v.version} onChange={() => setB(v.version)} />
                  </td>
                  {canPush && (
                    <td>
                      <button type="button" class="small-btn" disabled={busy} onClick={() => rollback(v.version)} aria-label={t('cfg.rollbackTo', { v: v.version })}>
                        {t('cfg.rollback')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <button type="button" onClick={compare} disabled={a === undefined || b === undefined}>
              {t('cfg.compare')}
            </button>
          </p>
        </>
      )}
      {diff && (
        <pre class="diff" aria-label={t('cfg.diffOf', { a: a ?? 0, b: b ?? 0 })}>
          {diff.length === 0 || diff.every((l) => l === null || l.op === ' ') ? t('cfg.same') : diff.map((l, i) => (l === null ? <span key={i} class="gap">⋯{'\n'}</span> : <span key={i} class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>{`${l.op} ${l.text}\n`}</span>))}
        </pre>
      )}
    </section>
  );
}
