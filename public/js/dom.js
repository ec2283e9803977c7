/**
 * Building DOM without HTML strings. Text always goes in as text nodes
 * (`textContent`), never through `innerHTML`, so a message, a display name or
 * a room name can never become markup — whatever the server lets through.
 */

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attributes
 */

/**
 * Make an element. Attributes are set with setAttribute (a `false`/`null`
 * value leaves one out, `true` sets it empty); `on…` keys add listeners.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes | null} [attributes]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = null, ...children) {
  const element = document.createElement(tag);
  if (attributes) {
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') {
        element.addEventListener(name.slice(2), value);
      } else if (name === 'style' || name === 'innerHTML' || name === 'srcdoc') {
        // The CSP forbids style attributes; markup from strings is what this module exists to avoid.
        throw new Error(`h(): "${name}" is not allowed`);
      } else if (typeof value !== 'function') {
        element.setAttribute(name, value === true ? '' : String(value));
      }
    }
  }
  append(element, children);
  return element;
}

/**
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child === null || child === undefined || child === false) continue;
    else if (typeof child === 'string' || typeof child === 'number') parent.appendChild(document.createTextNode(String(child)));
    else parent.appendChild(child);
  }
}

/**
 * Make `parent`'s children exactly `wanted`, in that order, moving as few
 * nodes as it can. Nodes that stay are not touched, so focus, selection and
 * screen-reader position survive an update.
 * @param {Element} parent
 * @param {readonly Node[]} wanted
 */
export function reconcile(parent, wanted) {
  const keep = new Set(wanted);
  let current = parent.firstChild;
  for (const node of wanted) {
    while (current && !keep.has(current)) {
      const next = current.nextSibling;
      parent.removeChild(current);
      current = next;
    }
    if (current === node) {
      current = current.nextSibling;
      continue;
    }
    parent.insertBefore(node, current);
  }
  while (current) {
    const next = current.nextSibling;
    parent.removeChild(current);
    current = next;
  }
}

/**
 * Set an element's text if it changed (so a screen reader is not told twice).
 * @param {Element} element
 * @param {string} text
 */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * The element with this id, of the expected type; a missing one is a bug in index.html.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html: #${id} is missing or not a ${type.name}`);
  return element;
}
