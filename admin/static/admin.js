// kidgate admin: the only script, served from the app itself (the CSP allows nothing else).
// Pages work without it; it asks before a change made from the event log.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Live event log: page 1 reloads itself while "Live" is ticked (data-live = seconds).
const live = document.querySelector("[data-live]");
if (live) setTimeout(() => window.location.reload(), Number(live.dataset.live) * 1000);
