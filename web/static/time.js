// Times in the browser's time zone: every <time datetime="..." data-local> the server wrote in
// UTC ("2026-12-07 09:00:00 UTC") is rewritten in local time, and its tooltip keeps the UTC
// text. Without JavaScript the UTC text simply stays.
const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
for (const t of document.querySelectorAll("time[data-local][datetime]")) {
  const at = new Date(t.dateTime);
  if (Number.isNaN(at.getTime())) continue;
  t.title = t.textContent.trim();
  t.textContent = format.format(at);
}
// The relative stamps ("5 min ago") get the local time in their tooltip, after the UTC one.
for (const t of document.querySelectorAll("time[datetime]:not([data-local])")) {
  const at = new Date(t.dateTime);
  if (Number.isNaN(at.getTime()) || !t.title) continue;
  t.title = `${t.title} (${format.format(at)} your time)`;
}
