/** Small DOM helpers: elements are built with textContent only, so nothing from the API is parsed as HTML. */

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el;
}

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

export const fmt = {
  dateTime: (iso: string) => dateTime.format(new Date(iso)),
  time: (iso: string) => time.format(new Date(iso)),
  day: (iso: string) => day.format(new Date(iso)),
  percent: (share: number | null) => (share === null ? '–' : `${Math.round(share * 100)}%`),
  number: (n: number | null, digits = 0) => (n === null ? '–' : n.toFixed(digits)),
};

/** Runs `fn` at most once per `ms`, the last call winning (a burst of live events → one refresh). */
export function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
