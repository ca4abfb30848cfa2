import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, type CameraStatusView, type DiscoveredCameraRecord, type GatewayView, type User } from '../api';
import { fmtAgo, t } from '../i18n';
import { useStream } from '../stream';
import { ErrorNote, Loading } from '../ui';

const STATE_CLASS: Record<string, string> = { online: 'ok', degraded: 'warn', unknown: 'muted' };

/** Cameras: state, reasons and thumbnails; discovered ones to accept or dismiss; live view. */
export function CamerasPage({ user }: { user: User }) {
  const [cameras, setCameras] = useState<CameraStatusView[]>();
  const [discovered, setDiscovered] = useState<DiscoveredCameraRecord[]>([]);
  const [error, setError] = useState<string>();
  const [live, setLive] = useState<CameraStatusView>();
  const canAct = user.role !== 'viewer';
  const load = async () => {
    const [cams, gws] = await Promise.all([api.cameraStatuses(), api.listGateways()]);
    setCameras(cams);
    const found = await Promise.all(gws.map((g: GatewayView) => api.discoveredCameras(g.id).catch(() => [] as DiscoveredCameraRecord[])));
    setDiscovered(found.flat().filter((d) => d.state === 'discovered'));
  };
  useEffect(() => {
    load().catch((err) => setError(errorText(err)));
  }, []);
  useStream(['camera.status'], () => load().catch(() => undefined));

  const decide = async (d: DiscoveredCameraRecord, decision: 'accept' | 'dismiss') => {
    try {
      await api.decideDiscoveredCamera(d.gatewayId, d.epr, decision);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section aria-labelledby="cams-title">
      <h1 id="cams-title">{t('cams.title')}</h1>
      <ErrorNote error={error} />
      {live && <LiveView camera={live} onClose={() => setLive(undefined)} />}
      {!cameras ? (
        <Loading />
      ) : cameras.length === 0 ? (
        <p class="muted">{t('cams.none')}</p>
      ) : (
        <ul class="cards cams">
          {cameras.map((c) => (
            <li key={`${c.gatewayId}/${c.cameraId}`} class="card cam" data-camera={c.cameraId} data-state={c.state}>
              {c.thumbnail ? (
                <img src={`/v1/gateways/${encodeURIComponent(c.gatewayId)}/cameras/${encodeURIComponent(c.cameraId)}/thumbnail?ts=${c.thumbnail.ts}`} alt={t('cams.thumbOf', { id: c.cameraId })} width={c.thumbnail.width} height={c.thumbnail.height} loading="lazy" />
              ) : (
                <div class="thumb-none">{t('cams.noThumb')}</div>
              )}
              <div class="cam-head">
                <strong>{c.name ?? c.cameraId}</strong> <span class={`badge ${STATE_CLASS[c.state] ?? 'bad'}`}>{c.state}</span>
              </div>
              <p class="small muted">
                {c.gatewayId} · {fmtAgo(c.updatedAt)}
              </p>
              {c.reasons.length > 0 && <p class="small warn">{c.reasons.join(', ')}</p>}
              {canAct && c.registered && (
                <button type="button" onClick={() => setLive(c)}>
                  {t('cams.live')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {discovered.length > 0 && (
        <>
          <h2>{t('cams.discovered')}</h2>
          <ul class="cards">
            {discovered.map((d) => (
              <li key={d.epr} class="card" data-epr={d.epr}>
                <strong>{d.name ?? d.epr}</strong>
                <p class="small muted">
                  {d.gatewayId} · {d.hardware ?? ''} · {d.xaddrs[0] ?? ''}
                </p>
                {canAct && (
                  <p class="btn-row">
                    <button type="button" class="primary" onClick={() => decide(d, 'accept')}>
                      {t('cams.accept')}
                    </button>
                    <button type="button" onClick={() => decide(d, 'dismiss')}>
                      {t('cams.dismiss')}
                    </button>
                  </p>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** MPEG-1 over the registry's WebSocket (a single-use ticket), drawn by jsmpeg; stopped on leave. */
function LiveView({ camera, onClose }: { camera: CameraStatusView; onClose: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [error, setError] = useState<string>();
  const [playing, setPlaying] = useState(false);
  useEffect(() => {
    let player: { destroy(): void } | undefined;
    let gone = false;
    // The player is loaded only when a live view is opened.
    Promise.all([api.liveTicket(camera.gatewayId, camera.cameraId), import('@cycjimmy/jsmpeg-player')]).then(
      ([ticket, { default: JSMpeg }]) => {
        if (gone || !canvas.current) return;
        canvas.current.width = ticket.width;
        canvas.current.height = ticket.height;
        player = new JSMpeg.Player(ticket.wsUrl, { canvas: canvas.current, audio: false, disableGl: true, onVideoDecode: () => setPlaying(true) });
      },
      (err) => setError(errorText(err)),
    );
    return () => {
      gone = true;
      player?.destroy();
    };
  }, [camera.gatewayId, camera.cameraId]);
  return (
    <div class="card live" role="region" aria-label={t('cams.liveOf', { id: camera.cameraId })}>
      <div class="chart-head">
        <h2>{t('cams.liveOf', { id: camera.name ?? camera.cameraId })}</h2>
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
      <ErrorNote error={error} />
      <canvas ref={canvas} id="live-canvas" data-playing={playing ? 'yes' : 'no'} />
    </div>
  );
}
