// The top bar's alerts badge: how many series are firing, refreshed every few seconds.
import { getJSON } from "./api.js";

const REFRESH_MS = 5000;
const link = document.getElementById("alerts-badge");

async function refresh() {
  try {
    const { count } = await getJSON("/api/alerts/states", { firing: "true", page_size: 1 });
    const badge = link.querySelector(".alerts-link__count");
    badge.textContent = String(count);
    badge.hidden = count === 0;
    link.dataset.firing = count > 0 ? "true" : "false";
    link.setAttribute("aria-label", count ? `Alerts: ${count} firing` : "Alerts: none firing");
  } catch {
    // A badge that cannot refresh keeps its last count; the alerts page says what is wrong.
  }
}

if (link) {
  refresh();
  setInterval(refresh, REFRESH_MS);
}
