// Starts the wasm app (a file rather than an inline script, so the strict Content-Security-Policy
// with script-src 'self' works). scripts/build-frontend fills in the content-named file names.
import init from "./__APP_JS__";

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
