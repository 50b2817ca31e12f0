// Sign in and sign up; the API's problem (a wrong password, a taken email, a throttled login)
// is shown as it said it.

import { signIn, signUp } from "../api.js";
import { html, useState } from "../html.js";
import { Problem } from "../ui.js";

function AuthForm({ title, submitLabel, withName, action, other }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    try {
      await action(f.get("email"), f.get("password"), f.get("display_name") || "");
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<main class="auth" id="main">
    <form class="auth-form" onSubmit=${submit} aria-labelledby="auth-title">
      <h1 id="auth-title">${title}</h1>
      <label>Email <input name="email" type="email" autocomplete="username" required /></label>
      ${withName && html`<label>Name <input name="display_name" autocomplete="name" maxlength="200" /></label>`}
      <label>Password <input name="password" type="password" required minlength=${withName ? 8 : 1}
        autocomplete=${withName ? "new-password" : "current-password"} /></label>
      <${Problem} error=${error} />
      <button type="submit" class="primary" disabled=${busy}>${submitLabel}</button>
      <p>${other}</p>
    </form>
  </main>`;
}

export function SignIn({ onSignedIn }) {
  return html`<${AuthForm} title="Sign in to Vapora" submitLabel="Sign in"
    action=${async (email, password) => onSignedIn(await signIn(email, password))}
    other=${html`No account? <a href="/signup">Sign up</a>`} />`;
}

export function SignUp({ onSignedIn }) {
  return html`<${AuthForm} title="Create your Vapora account" submitLabel="Sign up" withName=${true}
    action=${async (email, password, name) => onSignedIn(await signUp(email, password, name))}
    other=${html`Have an account? <a href="/signin">Sign in</a>`} />`;
}
