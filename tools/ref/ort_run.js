#!/usr/bin/env node
// Reference forward pass of ONNX files by onnxruntime (the npm package
// onnxruntime-node, CPU provider), a runtime independent of nncert's importer:
// tests/cli_onnx_ort.sh compares `nncert predict` logits with its outputs.
//
// usage: node tools/ref/ort_run.js MODEL.onnx INPUTS [OUTPUT]
//        node tools/ref/ort_run.js --jobs JOBS
//
// INPUTS: one input per line, whitespace-separated numbers in the element order
// of the graph's (single) input, batch 1: symbolic dimensions are fed as 1.
// Values are given to the model in the input's own type (float32 or float64),
// so a float32 model sees each number rounded to float32.
// OUTPUT: the value to print (default: the first graph output).
// JOBS: one run per line, "NAME MODEL.onnx INPUTS [OUTPUT]", all in one process.
//
// Prints one line per input: "INDEX v0 v1 ..." (with --jobs: "NAME INDEX v0 ..."),
// the output's values flattened, each the shortest decimal that reads back as the
// same double (float32 outputs are exact in double). A model that cannot be loaded
// or run is reported on stderr, the other jobs still run; the exit status is then 1.
// Graph optimizations are off (ORT_RUN_OPT=basic|extended|all turns them on): the
// reference is onnxruntime's kernels on the graph as written. Its default
// optimizer fuses a zero Pad into a following AveragePool's pads, which changes
// the output size under ceil_mode (measured on 1.31.1: tests/cli_onnx_ort.sh's
// pad_nodes gives 2x3x3 instead of the 2x4x3 of Pad-then-pool).
// Needs tools/ref/ort/node_modules (tools/install/install-deps.sh installs it).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

function loadOrt() {
    const pkg = path.join(__dirname, 'ort', 'package.json');
    try {
        return createRequire(pkg)('onnxruntime-node');
    } catch (e) {
        process.stderr.write('ort_run: cannot load onnxruntime-node from ' + path.dirname(pkg) +
            '/node_modules (run tools/install/install-deps.sh): ' + e.message + '\n');
        process.exit(2);
    }
}

function readInputs(file) {
    const rows = [];
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
        const tok = line.trim().split(/\s+/).filter((t) => t.length);
        if (!tok.length) return;
        const v = tok.map(Number);
        const bad = v.findIndex((x, k) => Number.isNaN(x) && tok[k] !== 'nan' && tok[k] !== 'NaN');
        if (bad >= 0) throw new Error(file + ':' + (i + 1) + ": '" + tok[bad] + "' is not a number");
        rows.push(v);
    });
    return rows;
}

const ARRAYS = { float32: Float32Array, float64: Float64Array };

function tensorOf(ort, meta, values, where) {
    const shape = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = shape.reduce((a, b) => a * b, 1);
    if (values.length !== n)
        throw new Error(where + ': ' + values.length + ' values, the input ' + meta.name + ' [' +
            meta.shape.join(',') + '] takes ' + n);
    const A = ARRAYS[meta.type];
    if (!A) throw new Error(where + ': input ' + meta.name + ' has type ' + meta.type + ' (float32 or float64 supported)');
    return new ort.Tensor(meta.type, A.from(values), shape);
}

async function runJob(ort, job, out) {
    const where = job.model;
    const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: process.env.ORT_RUN_OPT || 'disabled' });
    if (session.inputNames.length !== 1)
        throw new Error(where + ': the graph has ' + session.inputNames.length + ' inputs (1 supported)');
    const meta = session.inputMetadata[0];
    const output = job.output || session.outputNames[0];
    if (!session.outputNames.includes(output))
        throw new Error(where + ": no graph output '" + output + "' (outputs: " + session.outputNames.join(', ') + ')');
    const rows = readInputs(job.inputs);
    const lines = [];
    for (let i = 0; i < rows.length; i++) {
        const res = await session.run({ [meta.name]: tensorOf(ort, meta, rows[i], job.inputs + ':' + (i + 1)) }, [output]);
        const y = res[output];
        if (y.type !== 'float32' && y.type !== 'float64')
            throw new Error(where + ': output ' + output + ' has type ' + y.type);
        lines.push((job.name ? job.name + ' ' : '') + i + ' ' + Array.from(y.data, (v) => String(v)).join(' '));
    }
    out.write(lines.join('\n') + (lines.length ? '\n' : ''));
}

function parseJobs(file) {
    return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
        .map((l, i) => {
            const t = l.split(/\s+/);
            if (t.length < 3 || t.length > 4) throw new Error(file + ':' + (i + 1) + ': want NAME MODEL INPUTS [OUTPUT]');
            return { name: t[0], model: t[1], inputs: t[2], output: t[3] };
        });
}

async function main(argv) {
    if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
        process.stdout.write('usage: node tools/ref/ort_run.js MODEL.onnx INPUTS [OUTPUT]\n' +
            '       node tools/ref/ort_run.js --jobs JOBS   (lines: NAME MODEL INPUTS [OUTPUT])\n');
        return argv.length === 0 ? 2 : 0;
    }
    let jobs;
    try {
        if (argv[0] === '--jobs' && argv.length === 2) jobs = parseJobs(argv[1]);
        else if (argv[0] !== '--jobs' && (argv.length === 2 || argv.length === 3))
            jobs = [{ name: '', model: argv[0], inputs: argv[1], output: argv[2] }];
        else throw new Error('wrong arguments (see --help)');
    } catch (e) {
        process.stderr.write('ort_run: ' + e.message + '\n');
        return 2;
    }
    const ort = loadOrt();
    let status = 0;
    for (const job of jobs) {
        try {
            await runJob(ort, job, process.stdout);
        } catch (e) {
            process.stderr.write('ort_run: ' + (job.name ? job.name + ': ' : '') + e.message + '\n');
            status = 1;
        }
    }
    return status;
}

main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; });
