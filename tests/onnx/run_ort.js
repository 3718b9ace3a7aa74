// run_ort.js - runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on
// a batch of float32 inputs and writes the outputs, for tests/test_onnx.c.
// Usage: node run_ort.js MODEL.onnx INPUT.f32 N_FEATURES OUTPUT.f32 [C,H,W]
// INPUT.f32 holds rows of N_FEATURES little-endian float32 values, fed as
// [rows, N_FEATURES], or as [rows, C, H, W] when a shape is given; OUTPUT.f32
// receives the first output's float32 values, row after row. Prints the
// input and output names and shapes on stdout.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
    const [modelPath, inputPath, featuresArg, outputPath, shapeArg] = process.argv.slice(2);
    if (!outputPath) {
        console.error('usage: node run_ort.js MODEL.onnx INPUT.f32 N_FEATURES OUTPUT.f32');
        process.exit(2);
    }
    const features = Number(featuresArg);
    const bytes = fs.readFileSync(inputPath);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    if (!(features > 0) || values.length % features !== 0) {
        console.error(`run_ort.js: ${values.length} floats are not rows of ${features}`);
        process.exit(2);
    }
    const rows = values.length / features;
    const sample = shapeArg ? shapeArg.split(',').map(Number) : [features];
    if (sample.reduce((a, b) => a * b, 1) !== features) {
        console.error(`run_ort.js: shape ${shapeArg} is not ${features} features`);
        process.exit(2);
    }
    // One intra-op thread; default graph optimizations, as users run it.
    const session = await ort.InferenceSession.create(modelPath, {
        intraOpNumThreads: 1,
    });
    const input = new ort.Tensor('float32', Float32Array.from(values), [rows, ...sample]);
    const results = await session.run({ [session.inputNames[0]]: input });
    const output = results[session.outputNames[0]];
    const data = Float32Array.from(output.data);
    fs.writeFileSync(outputPath, Buffer.from(data.buffer));
    console.log(`${session.inputNames[0]} [${rows}, ${sample.join(', ')}] -> ` +
                `${session.outputNames[0]} [${output.dims.join(', ')}]`);
}

main().catch((e) => {
    console.error(`run_ort.js: ${e.message}`);
    process.exit(1);
});
