// Copy buttons on the status page: a button with data-copy="ID" copies the value of the field
// with that id (a new token, the SCIM base URL). Without JavaScript the buttons stay hidden and
// the fields are still there to select and copy by hand.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  if (!field) continue;
  const label = button.textContent;
  const said = document.getElementById(`${button.dataset.copy}-copied`);
  button.hidden = false;
  button.addEventListener("click", async () => {
    let done = true;
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      // No clipboard API (an insecure origin, an old browser): the selection and execCommand.
      field.select();
      done = document.execCommand("copy");
    }
    button.textContent = done ? "Copied" : "Select and copy it";
    if (said) said.textContent = done ? "Copied to the clipboard." : "";
    setTimeout(() => {
      button.textContent = label;
      if (said) said.textContent = "";
    }, 2000);
  });
}
