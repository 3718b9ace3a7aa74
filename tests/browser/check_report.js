#!/usr/bin/env node
// check_report.js - opens a synapse HTML report in headless Chromium through
// the DevTools protocol over a pipe (--remote-debugging-pipe: no port, no
// npm package) and checks what a reader would notice:
//   - no request leaves the file (every request the page makes is listed;
//     only the file itself is allowed), no console error, no script error;
//   - the numbers the report marks (data-metric / data-value, and the text
//     shown) equal `synapse eval --json` for the same model and data;
//   - the image canvases were drawn, nothing overflows a phone-width page,
//     it prints to PDF;
//   - screenshots at 1280 px and 390 px wide (PNG) for a person to look at.
// usage: node check_report.js [--chromium PATH] REPORT.html EVAL.json SHOT_PREFIX
//                              [REPORT.html EVAL.json SHOT_PREFIX ...]
// Several reports share one browser (each in its own tab): starting
// Chromium is most of the cost. Prints "N passed, N failed"; exits 0, 1 on a
// failed check, 2 on a crash.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
let chromiumArg = null;
if (args[0] === '--chromium') {
    chromiumArg = args[1];
    args.splice(0, 2);
}
if (args.length === 0 || args.length % 3 !== 0) {
    console.error('usage: check_report.js [--chromium PATH] REPORT.html EVAL.json SHOT_PREFIX ...');
    process.exit(2);
}
const chromium = chromiumArg || process.env.SYN_CHROMIUM || '/usr/bin/chromium';
let passed = 0, failed = 0, current = '';
function check(ok, what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        console.log('FAIL ' + current + ': ' + what);
    }
}

// SYN_CHROMIUM_PROFILE: a directory of the caller's to keep the profile in
// (the caller removes it; Chromium's helpers may outlive this script).
const profile = fs.mkdtempSync(path.join(process.env.SYN_CHROMIUM_PROFILE || os.tmpdir(),
                                         'syn_chromium_'));
const browser = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--remote-debugging-pipe', '--user-data-dir=' + profile, '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--hide-scrollbars', '--mute-audio', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let browserLog = '';
browser.stderr.on('data', (d) => { browserLog += d; });
const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];

let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffer = '';
fromBrowser.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    let end;
    while ((end = buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        if (msg.id && waiting.has(msg.id)) {
            const { resolve, reject, method } = waiting.get(msg.id);
            waiting.delete(msg.id);
            if (msg.error)
                reject(new Error(method + ': ' + JSON.stringify(msg.error)));
            else
                resolve(msg.result);
        } else if (msg.method) {
            for (const l of listeners)
                l(msg);
        }
    }
});
function send(method, params, sessionId) {
    const id = nextId++;
    const msg = { id, method, params: params || {} };
    if (sessionId)
        msg.sessionId = sessionId;
    toBrowser.write(JSON.stringify(msg) + '\0');
    return new Promise((resolve, reject) => waiting.set(id, { resolve, reject, method }));
}
function once(method, sessionId, timeoutMs) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout waiting for ' + method)),
                                 timeoutMs);
        listeners.push(function l(msg) {
            if (msg.method === method && msg.sessionId === sessionId) {
                clearTimeout(timer);
                listeners.splice(listeners.indexOf(l), 1);
                resolve(msg.params);
            }
        });
    });
}

// What each tab (DevTools session) requested and complained of.
const requests = {}, problems = {};
listeners.push((msg) => {
    const p = msg.params || {};
    const id = msg.sessionId;
    if (!id || !requests[id])
        return;
    if (msg.method === 'Network.requestWillBeSent')
        requests[id].push(p.request.url);
    else if (msg.method === 'Runtime.exceptionThrown')
        problems[id].push('script error: ' + JSON.stringify(p.exceptionDetails).slice(0, 300));
    else if (msg.method === 'Runtime.consoleAPICalled' &&
             (p.type === 'error' || p.type === 'warning' || p.type === 'assert'))
        problems[id].push('console ' + p.type + ': ' + JSON.stringify(p.args).slice(0, 300));
    else if (msg.method === 'Log.entryAdded' &&
             (p.entry.level === 'error' || p.entry.level === 'warning'))
        problems[id].push('log ' + p.entry.level + ': ' + p.entry.text + ' ' + (p.entry.url || ''));
});

async function evaluate(session, expression) {
    const r = await send('Runtime.evaluate', { expression, returnByValue: true }, session);
    if (r.exceptionDetails)
        throw new Error('evaluate: ' + JSON.stringify(r.exceptionDetails).slice(0, 300));
    return r.result.value;
}

async function screenshot(session, width, mobile, file) {
    await send('Emulation.setDeviceMetricsOverride',
               { width, height: 900, deviceScaleFactor: 1, mobile }, session);
    await evaluate(session, 'new Promise(r => requestAnimationFrame(() => r(1)))');
    const overflow = await evaluate(session,
        'document.documentElement.scrollWidth - document.documentElement.clientWidth');
    let culprit = '';
    if (overflow > 0)
        culprit = await evaluate(session, `Array.from(document.querySelectorAll('body *'))
            .filter((e) => e.getBoundingClientRect().right > ${width} + 1 &&
                           !e.closest('.scroll'))
            .slice(-3).map((e) => e.tagName + '.' + e.className + ' ' +
                           Math.round(e.getBoundingClientRect().right)).join(', ')`);
    check(overflow <= 0, `at ${width} px nothing is wider than the page (overflow ${overflow} ` +
          `px: ${culprit})`);
    const metrics = await send('Page.getLayoutMetrics', {}, session);
    const size = metrics.cssContentSize || metrics.contentSize;
    const height = Math.min(Math.ceil(size.height), 16000);
    const shot = await send('Page.captureScreenshot', {
        format: 'png', captureBeyondViewport: true,
        clip: { x: 0, y: 0, width, height, scale: 1 } }, session);
    fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
    // SYN_REPORT_TILES=H also saves the page in tiles H px high (FILE-1.png,
    // ...), to look at one part at full size.
    const tile = Number(process.env.SYN_REPORT_TILES || 0);
    for (let y = 0, i = 1; tile > 0 && y < height; y += tile, i++) {
        const part = await send('Page.captureScreenshot', {
            format: 'png', captureBeyondViewport: true,
            clip: { x: 0, y, width, height: Math.min(tile, height - y), scale: 1 } }, session);
        fs.writeFileSync(file.replace(/\.png$/, `-${i}.png`), Buffer.from(part.data, 'base64'));
    }
}

// The numbers of `synapse eval --json` against the page's marked numbers.
function compareNumbers(marks, ev) {
    const same = (mark, want, what) => {
        if (!mark) {
            check(false, what + ': not in the report');
            return;
        }
        if (want === null) {
            check(mark.value === 'null' && mark.text === 'n/a', what + ': null shown as n/a');
            return;
        }
        check(Number(mark.value) === want, `${what}: data-value ${mark.value} = eval ${want}`);
        const shown = Number(mark.text.replace('%', ''));
        // Four decimals, or four significant digits past 1e5.
        check(Number.isFinite(shown) &&
              Math.abs(shown - want) <=
                  0.5e-4 + 5e-4 * (Math.abs(want) >= 1e5 ? Math.abs(want) : 0),
              `${what}: shown ${mark.text} = eval ${want}`);
    };
    const find = (pred) => marks.find(pred);
    const top = (key) => find((m) => m.metric === key && !m.cls && !m.avg && !m.target);
    same(top('samples'), ev.samples, 'samples');
    same(top('loss'), ev.loss, 'loss');
    if (ev.per_class) {
        same(top('accuracy'), ev.accuracy, 'accuracy');
        ev.per_class.forEach((c, i) => {
            for (const key of ['precision', 'recall', 'f1', 'support'])
                same(find((m) => m.cls === String(i) && m.metric === key), c[key],
                     `class ${i} ${key}`);
        });
        for (const avg of ['macro', 'weighted'])
            for (const key of ['precision', 'recall', 'f1', 'support'])
                same(find((m) => m.avg === avg && m.metric === key), ev[avg + '_avg'][key],
                     `${avg} avg ${key}`);
        const cells = marks.filter((m) => m.row !== null);
        check(cells.length === ev.confusion.length ** 2,
              `confusion: ${cells.length} cells for ${ev.confusion.length} classes`);
        for (const c of cells)
            check(Number(c.value) === ev.confusion[c.row][c.col] &&
                  Number(c.text) === ev.confusion[c.row][c.col],
                  `confusion[${c.row}][${c.col}] ${c.text} = ${ev.confusion[c.row][c.col]}`);
    } else {
        for (const key of ['mse', 'rmse', 'mae', 'r2'])
            same(find((m) => m.avg === 'overall' && m.metric === key), ev[key], 'overall ' + key);
        ev.per_target.forEach((t, j) => {
            for (const key of ['mse', 'rmse', 'mae', 'r2'])
                same(find((m) => m.target === String(j) && m.metric === key), t[key],
                     `target ${j} ${key}`);
        });
    }
}

async function checkReport(reportPath, evalPath, shotPrefix) {
    current = path.basename(reportPath);
    const fileUrl = 'file://' + path.resolve(reportPath);
    const ev = JSON.parse(fs.readFileSync(evalPath, 'utf8'));
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId: s } = await send('Target.attachToTarget', { targetId, flatten: true });
    requests[s] = [];
    problems[s] = [];
    for (const domain of ['Network', 'Runtime', 'Log', 'Page'])
        await send(domain + '.enable', {}, s);
    await send('Emulation.setDeviceMetricsOverride',
               { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false }, s);
    const loaded = once('Page.loadEventFired', s, 30000);
    await send('Page.navigate', { url: fileUrl }, s);
    await loaded;
    const marks = JSON.parse(await evaluate(s, `JSON.stringify(Array.from(
        document.querySelectorAll('[data-metric]'), (e) => ({
            metric: e.getAttribute('data-metric'), value: e.getAttribute('data-value'),
            text: e.textContent.trim(), cls: e.getAttribute('data-class'),
            avg: e.getAttribute('data-avg'), target: e.getAttribute('data-target'),
            row: e.hasAttribute('data-row') ? Number(e.getAttribute('data-row')) : null,
            col: e.hasAttribute('data-col') ? Number(e.getAttribute('data-col')) : null}))
        .filter((m) => m.metric !== 'params' && m.metric !== 'summary_accuracy'))`));
    // The confusion cells carry data-row/data-col, not data-metric.
    const cells = JSON.parse(await evaluate(s, `JSON.stringify(Array.from(
        document.querySelectorAll('#confusion td[data-row]'), (e) => ({
            value: e.getAttribute('data-value'), text: e.textContent.trim(),
            row: Number(e.getAttribute('data-row')),
            col: Number(e.getAttribute('data-col'))})))`));
    compareNumbers(marks.concat(cells), ev);
    const page = JSON.parse(await evaluate(s, `JSON.stringify({
        scripts: document.scripts.length,
        external: document.querySelectorAll('img,iframe,object,embed,link,video,audio,' +
                                            'source,[src],[href]:not(svg *)').length,
        handlers: Array.from(document.querySelectorAll('*')).filter((e) =>
            Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length,
        canvases: document.querySelectorAll('canvas').length,
        blank: Array.from(document.querySelectorAll('canvas')).filter((c) => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4)
                if (d[i + 3] !== 0) return false;
            return true; }).length,
        sections: Array.from(document.querySelectorAll('section h2'), (h) => h.textContent)})`));
    check(page.scripts === 1, `one script, the report's own (found ${page.scripts})`);
    check(page.external === 0, `no element that loads anything (found ${page.external})`);
    check(page.handlers === 0, `no event-handler attribute (found ${page.handlers})`);
    check(page.blank === 0, `every canvas drawn (${page.blank} of ${page.canvases} blank)`);
    for (const want of ['Training curves', 'Evaluation', 'Model', 'Timings', 'Provenance'])
        check(page.sections.includes(want), 'section ' + want);
    await screenshot(s, 1280, false, shotPrefix + '-1280.png');
    await screenshot(s, 390, true, shotPrefix + '-390.png');
    await send('Emulation.setEmulatedMedia', { media: 'print' }, s);
    const pdf = await send('Page.printToPDF', { printBackground: false }, s);
    check(pdf.data && pdf.data.length > 1000, 'prints to PDF');
    const outside = requests[s].filter((u) => u !== fileUrl);
    check(outside.length === 0, 'no request but the file itself: ' + outside.join(' '));
    check(problems[s].length === 0, 'no console or script error: ' + problems[s].join('; '));
    await send('Target.closeTarget', { targetId });
}

async function main() {
    for (let i = 0; i < args.length; i += 3)
        await checkReport(args[i], args[i + 1], args[i + 2]);
    await send('Browser.close').catch(() => {});
}

const deadline = setTimeout(() => {
    console.log('FAIL timeout (300 s); chromium said: ' + browserLog.slice(-2000));
    browser.kill('SIGKILL');
    process.exit(1);
}, 300000);
// The profile goes once the browser has let go of it.
function finish(code) {
    const timer = setTimeout(() => browser.kill('SIGKILL'), 5000);
    browser.on('exit', () => {
        clearTimeout(timer);
        try {
            fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10,
                                 retryDelay: 100 });
        } catch (e) {
            console.log('note: could not remove ' + profile + ': ' + e.message);
        }
        process.exit(code);
    });
    browser.kill();
}
main().then(() => {
    clearTimeout(deadline);
    console.log(`${passed} passed, ${failed} failed`);
    finish(failed ? 1 : 0);
}, (err) => {
    clearTimeout(deadline);
    console.log('FAIL ' + err.message + '\nchromium said: ' + browserLog.slice(-2000));
    browser.kill('SIGKILL');
    process.exit(2);
});
