// A QR code drawn as one SVG path (uqr encodes it: error correction and masking are no code to
// write by hand). Dark on white with the standard four-module quiet zone, so phone cameras read it
// on the app's dark page too; crisp at any size. The text it holds is in its accessible name.

import { LitElement, css, html, svg } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { encode } from 'uqr';

/** The dark modules of `text` as an SVG path, and the side of the square (quiet zone included). */
export function qrPath(text: string): { d: string; size: number } {
  const { data, size } = encode(text, { ecc: 'M', border: 4 });
  let d = '';
  data.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x} ${y}h1v1h-1z`; }));
  return { d, size };
}

@customElement('hv-qr-code')
export class QrCode extends LitElement {
  static override styles = css`
    :host { display: block; width: min(16rem, 100%); }
    svg { display: block; width: 100%; height: auto; border-radius: 0.4rem; }
  `;

  /** What the code holds (a link). */
  @property() text = '';
  /** What it is for, read out before the link. */
  @property() label = 'QR code';

  override render() {
    if (!this.text) return html``;
    const { d, size } = qrPath(this.text);
    return html`<svg role="img" aria-label=${`${this.label}: ${this.text}`} viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges">
      ${svg`<rect width=${size} height=${size} fill="#fff"></rect><path d=${d} fill="#000"></path>`}</svg>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-qr-code': QrCode }
}
