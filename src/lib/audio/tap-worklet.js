// Runs on the audio thread: copies each 128-sample block of the microphone to the main thread,
// which downsamples and frames it (pure steps in pcm.ts). Served as a file of the app's own
// origin because the bridge's Content-Security-Policy (script-src 'self') forbids blob: modules.
registerProcessor('havatar-tap', class extends AudioWorkletProcessor {
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) this.port.postMessage(ch.slice(0));
    return true;
  }
});
