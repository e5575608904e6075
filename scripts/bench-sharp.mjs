// The peer: the same transform with sharp (libvips), single-threaded, in-process
// timing of bytes in → bytes out. Prints milliseconds.
import sharp from "sharp";
import { readFileSync, writeFileSync } from "node:fs";

sharp.concurrency(1);
sharp.cache(false);
const [input, output] = process.argv.slice(2);
const data = readFileSync(input);
const { hasAlpha } = await sharp(data).metadata();
const started = process.hrtime.bigint();
let pipeline = sharp(data, { limitInputPixels: false })
  .autoOrient()
  .resize(1280, 720, { fit: "cover", kernel: "lanczos3" })
  .rotate(180);
pipeline = hasAlpha ? pipeline.png() : pipeline.jpeg({ quality: 85 });
const result = await pipeline.toBuffer();
const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
writeFileSync(output, result);
console.log(elapsed.toFixed(2));
