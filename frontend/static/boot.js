// Starts the wasm app (a file rather than an inline script, so the strict Content-Security-Policy
// with script-src 'self' works). scripts/build-frontend fills in the content-named file names.
import init from "./__APP_JS__";

// A panic in the app traps the wasm module (it is built with panic=immediate-abort, so no
// panic hook runs): say so on the page instead of leaving a dead form.
const fatal = (error) => {
  if (!(error instanceof WebAssembly.RuntimeError) || document.querySelector(".fatal")) return;
  const el = document.createElement("div");
  el.className = "fatal";
  el.setAttribute("role", "alert");
  el.textContent =
    "Interner Fehler – bitte laden Sie die Seite neu. / Internal error – please reload the page.";
  document.body.prepend(el);
};
window.addEventListener("error", (e) => fatal(e.error));
window.addEventListener("unhandledrejection", (e) => fatal(e.reason));

try {
  await init({ module_or_path: "./__APP_WASM__" });
} catch (e) {
  console.error(e);
  const boot = document.getElementById("boot");
  if (boot) {
    boot.replaceChildren();
    const p = document.createElement("p");
    p.className = "notice notice-error";
    p.setAttribute("role", "alert");
    p.textContent =
      "Die Seite konnte nicht geladen werden. Bitte neu laden. / The page could not be loaded. Please reload.";
    boot.appendChild(p);
  }
}
