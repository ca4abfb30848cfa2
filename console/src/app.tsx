import { useEffect, useState } from 'preact/hooks';
import { api, type User } from './api';
import { currentLang, LANGS, onLangChange, setLang, t, type Lang } from './i18n';
import { AlarmsPage } from './pages/alarms';
import { CamerasPage } from './pages/cameras';
import { EnrolPage } from './pages/enrol';
import { FleetPage } from './pages/fleet';
import { GatewayPage } from './pages/gateway';
import { RolloutsPage } from './pages/rollouts';
import { SignIn } from './pages/signin';

type Route = { page: 'fleet' | 'enrol' | 'alarms' | 'cameras' | 'rollouts' } | { page: 'gateway'; id: string };

export function parseRoute(hash: string): Route {
  const [, page, id] = hash.replace(/^#/, '').split('/');
  if (page === 'gateway' && id) return { page: 'gateway', id: decodeURIComponent(id) };
  if (page === 'enrol' || page === 'alarms' || page === 'cameras' || page === 'rollouts') return { page };
  return { page: 'fleet' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function LangSwitch() {
  return (
    <label class="lang">
      <span class="sr-only">{t('app.language')}</span>
      <select id="lang" value={currentLang()} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
        {LANGS.map((l) => (
          <option value={l} key={l}>
            {t(l === 'vi' ? 'lang.vi' : 'lang.en')}
          </option>
        ))}
      </select>
    </label>
  );
}

export function App() {
  const [, rerender] = useState(0);
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    document.documentElement.lang = currentLang();
    return onLangChange(() => rerender((n) => n + 1));
  }, []);
  useEffect(() => {
    api.session().then(
      (s) => {
        api.setCsrfToken(s.csrfToken);
        setUser(s.user);
      },
      () => setUser(null),
    );
  }, []);
  useEffect(() => {
    document.title = `cityedge · ${t(`nav.${route.page === 'gateway' ? 'fleet' : route.page}`)}`;
  });

  if (user === undefined) return <p class="loading" role="status">{t('common.loading')}</p>;
  if (user === null)
    return (
      <SignIn
        lang={<LangSwitch />}
        onSignedIn={(s) => {
          api.setCsrfToken(s.csrfToken);
          setUser(s.user);
        }}
      />
    );

  const signOut = async () => {
    await api.signOut().catch(() => undefined);
    api.setCsrfToken(undefined);
    setUser(null);
  };
  const nav = ['fleet', 'enrol', 'alarms', 'cameras', 'rollouts'] as const;
  const active = route.page === 'gateway' ? 'fleet' : route.page;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/fleet">
          cityedge
        </a>
        <nav aria-label={t('app.navigation')}>
          {nav.map((p) => (
            <a key={p} href={`#/${p}`} aria-current={active === p ? 'page' : undefined}>
              {t(`nav.${p}`)}
            </a>
          ))}
        </nav>
        <div class="me">
          <LangSwitch />
          <span class="user" title={t(`role.${user.role}`)}>
            {user.displayName ?? user.username}
          </span>
          <button type="button" class="link" onClick={signOut}>
            {t('app.signOut')}
          </button>
        </div>
      </header>
      <main id="main">
        {route.page === 'fleet' && <FleetPage />}
        {route.page === 'enrol' && <EnrolPage />}
        {route.page === 'gateway' && <GatewayPage id={route.id} user={user} key={route.id} />}
        {route.page === 'alarms' && <AlarmsPage user={user} />}
        {route.page === 'cameras' && <CamerasPage user={user} />}
        {route.page === 'rollouts' && <RolloutsPage user={user} />}
      </main>
    </>
  );
}
