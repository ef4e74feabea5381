/**
 * nats.js hands out views into its socket read buffers. A consumer must own its bytes (and not pin
 * a larger buffer): copy unless the view already spans a whole buffer of its own.
 */
export function owned(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
}
