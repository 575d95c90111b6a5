// The error summary at the top of a page in error takes the focus, so that a screen reader reads it
// and the keyboard starts from it (its links lead to each field). A file: the CSP allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("resume-erreurs");
  if (summary) {
    summary.focus();
  }
});
