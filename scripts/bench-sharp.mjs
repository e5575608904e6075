// The peer: the same transform with sharp (libvips), single-threaded, in-process
// timing of bytes in → bytes out. Prints the first run's milliseconds (a fresh
// process) and, after REPEAT more runs in the same process, their median (warm).
import sharp from "sharp";
import { readFileSync, writeFileSync } from "node:fs";

sharp.concurrency(1);
sharp.cache(false);
const [input, output, repeat = "0"] = process.argv.slice(2);
const data = readFileSync(input);
const { hasAlpha } = await sharp(data).metadata();

async function transform() {
  const started = process.hrtime.bigint();
  let pipeline = sharp(data, { limitInputPixels: false })
    .autoOrient()
    .resize(1280, 720, { fit: "cover", kernel: "lanczos3" })
    .rotate(180);
  pipeline = hasAlpha ? pipeline.png() : pipeline.jpeg({ quality: 85 });
  const result = await pipeline.toBuffer();
  return [Number(process.hrtime.bigint() - started) / 1e6, result];
}

const [first, result] = await transform();
writeFileSync(output, result);
const warm = [];
for (let i = 0; i < Number(repeat); i++) warm.push((await transform())[0]);
warm.sort((a, b) => a - b);
console.log(first.toFixed(2));
if (warm.length) console.log(warm[Math.floor(warm.length / 2)].toFixed(2));
