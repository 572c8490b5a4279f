// Starts the wasm app (a file rather than an inline script, so a strict Content-Security-Policy
// with script-src 'self' works). __BUILD__ is replaced with a content hash by scripts/build-frontend.
import init from "./app.js?v=__BUILD__";

try {
  await init({ module_or_path: "./app_bg.wasm?v=__BUILD__" });
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
