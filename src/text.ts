/** Small text helpers shared by every surface that shows a person a message or a page. */

/** Upper-cases the first letter: messages are built lower-case so they can be embedded. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Escapes text for HTML: everything a client or a file name says is attacker-chosen. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
