// QR codes read in the browser with jsQR (bundled, nothing fetched): from an image the user uploads or pastes (a PNG,
// JPEG or SVG screenshot of a receipt's QR code) and from the camera, frame by frame, until a code is found.
import jsQR from "jsqr";
import { $, fill } from "./dom.js";

// Images are decoded at a size where every module spans a few pixels: small screenshots are enlarged without
// smoothing (crisp modules), large photos reduced so decoding stays quick.
const MIN_SIDE = 800;
const MAX_SIDE = 1600;

function decodePixels(canvas, context) {
  const { width, height } = canvas;
  const image = context.getImageData(0, 0, width, height);
  return jsQR(image.data, width, height, { inversionAttempts: "attemptBoth" })?.data || null;
}

function imageOf(blob) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(blob);
    const img = new Image();
    img.onload = () => resolve({ img, url });
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("not an image"));
    };
    img.src = url;
  });
}

/** The text of the QR code in an image file or blob, or null when the image holds none. Throws on a non-image. */
export async function decodeImage(blob) {
  const { img, url } = await imageOf(blob);
  try {
    // An SVG without width and height has no natural size: draw it square at the minimum side.
    const w = img.naturalWidth || MIN_SIDE;
    const h = img.naturalHeight || MIN_SIDE;
    const side = Math.min(w, h);
    const scale =
      side < MIN_SIDE ? Math.ceil(MIN_SIDE / side) : Math.max(w, h) > MAX_SIDE ? MAX_SIDE / Math.max(w, h) : 1;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = scale < 1;
    context.fillStyle = "#fff"; // a transparent background reads as white, as on screen
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(img, 0, 0, canvas.width, canvas.height);
    return decodePixels(canvas, context);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Whether this browser can offer a camera at all (a secure context with getUserMedia). */
export const cameraSupported = () => Boolean(globalThis.isSecureContext && navigator.mediaDevices?.getUserMedia);

/**
 * Shows the camera in `video` and reads frames until one holds a QR code: resolves to its text, or null when
 * `signal` aborts first. Rejects when there is no camera or the user refuses it. The camera is released either way.
 */
export async function scanCamera(video, signal) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } } });
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  try {
    video.srcObject = stream;
    await video.play();
    while (!signal.aborted) {
      if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const text = decodePixels(canvas, context);
        if (text) return text;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return null;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}

/**
 * Wires a page's camera controls (#scan-start, #scan-stop, #scanner holding #scan-video, #scan-status): the start
 * button opens the camera, the stop button or Escape closes it, focus returns to the start button, and a code read
 * is handed to `onText`. `noCamera` is the status shown when there is no camera or it is refused.
 */
export function setUpCameraScanner({ noCamera, onText }) {
  const status = (text) => fill($("#scan-status"), text);
  let scanning = null;
  const stop = () => scanning?.abort();
  $("#scan-stop").addEventListener("click", stop);
  $("#scanner").addEventListener("keydown", (event) => {
    if (event.key === "Escape") stop();
  });
  $("#scan-start").addEventListener("click", async () => {
    if (scanning) return;
    if (!cameraSupported()) {
      status(noCamera);
      return;
    }
    scanning = new AbortController();
    $("#scanner").hidden = false;
    $("#scan-stop").focus();
    status("對準二維碼 Point the camera at the QR code…");
    let text = null;
    try {
      text = await scanCamera($("#scan-video"), scanning.signal);
      status(text ? "已讀取二維碼 QR code read from the camera" : "已停止掃描 Scanning stopped");
    } catch (e) {
      const refused = e?.name === "NotAllowedError" || e?.name === "SecurityError";
      status(refused ? `攝像頭被拒絕 The camera was refused. ${noCamera}` : noCamera);
    } finally {
      scanning = null;
      $("#scanner").hidden = true;
      $("#scan-start").focus(); // the stop button is gone: focus returns to the control that opened the camera
    }
    if (text) await onText(text);
  });
}
