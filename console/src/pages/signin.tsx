import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, RegistryApiError, type SessionView } from '../api';
import { t } from '../i18n';

export function SignIn({ onSignedIn, lang }: { onSignedIn: (s: SessionView) => void; lang: ComponentChildren }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api.signIn(username, password));
    } catch (err) {
      if (err instanceof RegistryApiError && err.status === 401) setError(t('signin.bad'));
      else if (err instanceof RegistryApiError && (err.status === 423 || err.status === 429)) setError(t('signin.locked'));
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <div class="signin-lang">{lang}</div>
      <form onSubmit={submit} class="card" aria-labelledby="signin-title">
        <h1 id="signin-title">{t('signin.title')}</h1>
        <p class="muted">{t('signin.lead')}</p>
        <label>
          {t('signin.username')}
          <input id="username" name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          {t('signin.password')}
          <input id="password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {t('signin.submit')}
        </button>
      </form>
    </main>
  );
}
