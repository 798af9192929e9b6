/**
 * A camera for Chromium that films a QR code: the code of `text` (drawn by the `qrcode` package, as the beneficiary's
 * page draws it) written as a one-frame YUV4MPEG2 (Y4M) video, which Chromium's fake capture device plays in a loop
 * in place of a webcam. Y4M is raw pixels, so no encoder (ffmpeg) is needed: luma from the modules, neutral chroma.
 */
import fs from "node:fs";
import QRCode from "qrcode";

const MODULE_PX = 6;
const QUIET_MODULES = 4;

/** Writes the Y4M video of the QR code of `text` to `file`. */
export function writeQrVideo(file: string, text: string): void {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: "L" });
  const side = (modules.size + 2 * QUIET_MODULES) * MODULE_PX;
  const size = side + (side % 2); // 4:2:0 chroma needs even sides
  const luma = Buffer.alloc(size * size, 235); // white (video range)
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      const y0 = (row + QUIET_MODULES) * MODULE_PX;
      const x0 = (col + QUIET_MODULES) * MODULE_PX;
      for (let y = y0; y < y0 + MODULE_PX; y++) luma.fill(16, y * size + x0, y * size + x0 + MODULE_PX); // black
    }
  }
  writeFrame(file, size, luma);
}

/** Writes a Y4M video of a plain white page (a camera that sees no QR code) to `file`. */
export function writeBlankVideo(file: string, size = 480): void {
  writeFrame(file, size, Buffer.alloc(size * size, 235));
}

function writeFrame(file: string, size: number, luma: Buffer): void {
  const chroma = Buffer.alloc((size / 2) * (size / 2) * 2, 128);
  const header = Buffer.from(`YUV4MPEG2 W${size} H${size} F30:1 Ip A1:1 C420jpeg\nFRAME\n`, "ascii");
  fs.writeFileSync(file, Buffer.concat([header, luma, chroma]));
}

/** Chromium's switches for a fake camera playing `file`, with the permission prompt answered yes. */
export const fakeCameraArgs = (file: string): string[] => [
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  `--use-file-for-fake-video-capture=${file}`,
];
