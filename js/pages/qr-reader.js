// The booth's QR reader: the tablet's camera, read in the page with jsQR (bundled, like noble), so
// a slip's QR code never opens a URL the browser would keep in its history. A module the booth
// page imports, not a page: startReader(video, canvas, onText, onError) -> stop().
//
// Every ~150 ms one frame, scaled down to at most 640 px wide, is drawn into the canvas and
// decoded. onText(text) is called once per distinct text: a slip held in front of the camera is
// read once, not ten times a second; the same text is reported again only after it has been out
// of sight for forgetMs. What the text means (a slip or not, js/tally/slip.js) is the caller's
// business. onError(kind): "no-camera" (no navigator.mediaDevices: not a secure context, or no
// camera API), "denied" (the camera permission refused), "unavailable" (any other failure: no
// camera, in use by another application).

import jsQR from "jsqr";

const DEFAULTS = { intervalMs: 150, maxWidth: 640, forgetMs: 2000 };

/**
 * @param {HTMLVideoElement} video
 * @param {HTMLCanvasElement} canvas
 * @param {(text: string) => void} onText
 * @param {(kind: "no-camera" | "denied" | "unavailable") => void} onError
 * @param {{intervalMs?: number, maxWidth?: number, forgetMs?: number}} [options]
 * @returns {() => void} stop: ends the camera's tracks and the timer (idempotent)
 */
export function startReader(video, canvas, onText, onError, options = {}) {
  const { intervalMs, maxWidth, forgetMs } = { ...DEFAULTS, ...options };
  let stopped = false;
  let stream = null;
  let timer = null;
  let last = null; // the last text decoded, and when it was last seen
  let lastSeen = 0;

  function stop() {
    stopped = true;
    clearTimeout(timer);
    timer = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.pause();
    video.srcObject = null;
  }

  function fail(kind) {
    if (stopped) return;
    stop();
    onError(kind);
  }

  const context = canvas.getContext("2d", { willReadFrequently: true });

  function frame() {
    timer = null;
    if (stopped) return;
    let text = null;
    try {
      text = decode();
    } catch {
      text = null; // a frame that cannot be read (the camera just changed): the next one will
    }
    timer = setTimeout(frame, intervalMs);
    if (text === null) return;
    const now = performance.now();
    const fresh = text !== last || now - lastSeen > forgetMs;
    last = text;
    lastSeen = now;
    if (fresh) onText(text);
  }

  function decode() {
    const w0 = video.videoWidth;
    const h0 = video.videoHeight;
    if (video.readyState < video.HAVE_CURRENT_DATA || !w0 || !h0) return null;
    const width = Math.min(maxWidth, w0);
    const height = Math.max(1, Math.round((h0 * width) / w0));
    // Setting a canvas's size clears it and reallocates: only when the camera's size changes.
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    context.drawImage(video, 0, 0, width, height);
    const image = context.getImageData(0, 0, width, height);
    // A slip is printed dark on light: the inverted image is never tried (half the work).
    const found = jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
    return found && typeof found.data === "string" && found.data !== "" ? found.data : null;
  }

  const media = typeof navigator !== "undefined" ? navigator.mediaDevices : undefined;
  if (!media || typeof media.getUserMedia !== "function") {
    // Reported after the caller has its stop(), as every other outcome is.
    queueMicrotask(() => fail("no-camera"));
    return stop;
  }
  media
    .getUserMedia({ video: { facingMode: "environment" }, audio: false })
    .then(async (got) => {
      if (stopped) {
        for (const track of got.getTracks()) track.stop();
        return;
      }
      stream = got;
      video.muted = true;
      video.playsInline = true;
      video.setAttribute("playsinline", "");
      video.srcObject = got;
      try {
        await video.play();
      } catch {
        // stop() during play() aborts it: that is no failure.
        if (!stopped) fail("unavailable");
        return;
      }
      if (!stopped) timer = setTimeout(frame, intervalMs);
    })
    .catch((e) => fail(e && e.name === "NotAllowedError" ? "denied" : "unavailable"));
  return stop;
}
