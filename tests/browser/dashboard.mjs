// dashboard.mjs: the dashboard in real headless Chromium (Debian's
// chromium), driven by playwright-core; run by test_dashboard.py.
//
// Logs in through the page's form, reads today's check-in count, sends a
// check-in with the real client and waits (bounded) until the count on
// the page has grown by one without a reload; checks the gaps section,
// the phone layout, and that no console error or CSP violation occurred;
// saves screenshots.  Prints one line per check, "pass NAME" or
// "fail NAME: detail", and "shot PATH" per screenshot; exits 0 only when
// every check passed.  Everything it waits for is bounded.
//
// Environment (set by test_dashboard.py):
//   PINGAN_URL             the page, e.g. http://127.0.0.1:7780/
//   PINGAN_LOGIN_WORKER    a supervisor's code; PINGAN_LOGIN_TOKEN its token
//   PINGAN_CHECKIN_ARGV    JSON array: the real client's argv for one check-in
//   PINGAN_EXPECT_MISSING  villages that did not screen today (comma list)
//   PINGAN_EXPECT_SCREENED villages that did (comma list, may be empty)
//   PINGAN_SHOT_DIR        where the screenshots go
//   PINGAN_NODE_MODULES    the node_modules directory holding playwright-core
//   PINGAN_CHROMIUM        the browser (default /usr/bin/chromium)
//   PINGAN_BROWSER_TIMEOUT seconds for the whole run (default 120)

import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const env = process.env;
const TOTAL_S = Number(env.PINGAN_BROWSER_TIMEOUT || 120);
const UPDATE_MS = 20000;	// the page must show the check-in by then
const STEP_MS = 15000;		// any single page operation

let failures = 0;
function pass(name) {
	console.log('pass ' + name);
}
function fail(name, detail) {
	failures++;
	console.log('fail ' + name + ': ' + String(detail).replace(/\n/g, ' | '));
}
function check(cond, name, detail) {
	if (cond)
		pass(name);
	else
		fail(name, detail === undefined ? 'false' : detail);
	return !!cond;
}

function need(name) {
	const v = env[name];
	if (!v) {
		console.log('fail environment: ' + name + ' is not set');
		process.exit(2);
	}
	return v;
}

const url = need('PINGAN_URL');
const worker = need('PINGAN_LOGIN_WORKER');
const token = need('PINGAN_LOGIN_TOKEN');
const checkinArgv = JSON.parse(need('PINGAN_CHECKIN_ARGV'));
const shotDir = need('PINGAN_SHOT_DIR');
const modules = need('PINGAN_NODE_MODULES');
const missing = (env.PINGAN_EXPECT_MISSING || '').split(',').filter(Boolean);
const screened = (env.PINGAN_EXPECT_SCREENED || '').split(',').filter(Boolean);

// The whole run is bounded: past TOTAL_S the process ends, failed.
const killer = setTimeout(() => {
	console.log('fail the run ended within ' + TOTAL_S + ' s: it did not');
	process.exit(3);
}, TOTAL_S * 1000);

// playwright-core lives outside the source tree; ESM import ignores
// NODE_PATH, so it is required from the directory given.
const require = createRequire(path.join(modules, 'noop.js'));
const { chromium } = require('playwright-core');

function run(argv, ms) {
	return new Promise((resolve) => {
		execFile(argv[0], argv.slice(1), { timeout: ms, env: process.env },
		    (err, stdout, stderr) => resolve({
			code: err ? (err.code ?? err.signal ?? 'error') : 0,
			stdout: String(stdout), stderr: String(stderr),
		    }));
	});
}

// Network errors the page provokes on purpose: the 401 of /api/v1/me
// before the login, and of a wrong login.
function expectedError(msg) {
	const where = (msg.location() || {}).url || '';
	return /status of 401/.test(msg.text()) &&
	    /\/api\/v1\/(me|login)$/.test(where);
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const browser = await chromium.launch({
	executablePath: env.PINGAN_CHROMIUM || '/usr/bin/chromium',
	headless: true,
	timeout: STEP_MS * 2,
	args: [
		...(isRoot ? ['--no-sandbox'] : []),
		'--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update',
		'--disable-sync', '--disable-dev-shm-usage',
	],
});

const errors = [];
let code = 0;
try {
	const context = await browser.newContext({
		viewport: { width: 1366, height: 768 },
		locale: 'zh-CN',
		timezoneId: 'Asia/Shanghai',
	});
	context.setDefaultTimeout(STEP_MS);
	// Runs before the page's own script: CSP violations are recorded
	// where the test can read them.
	await context.addInitScript(() => {
		window.__csp = [];
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
		});
	});
	const page = await context.newPage();
	let navigations = 0;
	page.on('framenavigated', (f) => {
		if (f === page.mainFrame())
			navigations++;
	});
	page.on('console', (msg) => {
		if (msg.type() === 'error' && !expectedError(msg))
			errors.push('console: ' + msg.text());
	});
	page.on('pageerror', (e) => errors.push('page error: ' + e.message));
	page.on('requestfailed', (r) => {
		// The event stream is cut when the page closes; nothing else
		// may fail.
		if (!/\/api\/v1\/events$/.test(r.url()))
			errors.push('request failed: ' + r.url() + ' ' +
			    (r.failure() || {}).errorText);
	});

	const res = await page.goto(url, { waitUntil: 'domcontentloaded' });
	check(res && res.status() === 200, 'the page loads (200)',
	    res && res.status());
	const csp = res ? (await res.allHeaders())['content-security-policy'] : '';
	check(/default-src 'none'/.test(csp || '') &&
	    /script-src 'self'/.test(csp || ''),
	    'the page is sent with a strict Content-Security-Policy', csp);

	// Not logged in: the form.
	await page.locator('#login-form').waitFor({ state: 'visible' });
	pass('the login form is shown before logging in');

	// A wrong token: an error in Chinese, no board.
	await page.fill('#login-worker', worker);
	await page.fill('#login-secret', token + 'x');
	await page.click('#login-submit');
	const err = page.locator('#login-error');
	await err.waitFor({ state: 'visible' });
	const errText = await err.textContent();
	check(/[\u4e00-\u9fff]/.test(errText || '') &&
	    await page.locator('#board').isHidden(),
	    'a wrong token is refused with a message in Chinese', errText);

	// The right one.
	await page.fill('#login-secret', token);
	await page.click('#login-submit');
	await page.locator('#board').waitFor({ state: 'visible' });
	const total = page.locator('#checkins-total');
	await total.waitFor({ state: 'visible' });
	pass('logging in shows the board');
	check((await page.locator('#me').getAttribute('data-worker')) === worker,
	    'the header names the worker logged in',
	    await page.locator('#me').textContent());
	check(/年.*月.*日/.test(await page.locator('#today').textContent() || ''),
	    'the header shows the date',
	    await page.locator('#today').textContent());
	check(await page.locator('#logout').isVisible(), 'a 退出 button');

	const before = Number(await total.getAttribute('data-count'));
	check(Number.isInteger(before) && before >= 0 &&
	    String(before) === (await total.textContent()).trim(),
	    'today\'s check-in count is shown (' + before + ')',
	    await total.textContent());

	// The gaps section: the villages that did not screen, today.
	const today = await page.locator('#today').getAttribute('data-day');
	check(/^\d{4}-\d{2}-\d{2}$/.test(today || ''), 'the page knows today (' +
	    today + ')', today);
	const gapsFirst = await page.evaluate(() => {
		const s = document.querySelector('#board > section');
		return s ? s.id : null;
	});
	check(gapsFirst === 'gaps', 'the gaps section comes first', gapsFirst);
	// [village, day, text of its group] of every missing screening.
	const gapDays = await page.$$eval(
	    '#gaps-list li[data-kind="screening_missing"] .gap-item',
	    (els) => els.map((e) => {
		const li = e.closest('li');
		return [e.dataset.village, li.dataset.day, li.textContent];
	    }));
	for (const v of missing) {
		const g = gapDays.find((x) => x[0] === v && x[1] === today);
		check(g && /未报排查/.test(g[2]),
		    'the gaps list ' + v + ' as not screened today',
		    JSON.stringify(gapDays) + ' ' + today);
	}
	for (const v of screened)
		check(!gapDays.some((x) => x[0] === v && x[1] === today),
		    v + ', which screened today, is not among the gaps',
		    JSON.stringify(gapDays));
	for (const v of missing.concat(screened))
		check(await page.locator('#villages-table tr[data-village="' + v +
		    '"]').count() === 1, 'the village table has a row for ' + v);
	const charts = await page.locator('#trend-body svg').count();
	check(charts === 3, 'three trend charts are drawn', charts);

	// A check-in with the real client; the page must follow by itself,
	// with no section ever blank between two paints and the page left
	// where it was scrolled to.
	const marker = 'm' + Math.random().toString(36).slice(2);
	await page.evaluate((m) => {
		window.__pinganMarker = m;
		window.__blank = [];
		const ids = ['gaps-body', 'checkins', 'patrols-open', 'screening',
		    'duty', 'disputes-body', 'villages-body', 'trend-body'];
		new MutationObserver(() => {
			for (const id of ids) {
				const el = document.getElementById(id);
				if (!el || el.childElementCount === 0)
					window.__blank.push(id);
			}
		}).observe(document.getElementById('board'),
		    { childList: true, subtree: true });
		window.scrollTo(0, 300);
	}, marker);
	const scrollBefore = await page.evaluate(() => window.scrollY);
	const navBefore = navigations;
	const r = await run(checkinArgv, 20000);
	check(r.code === 0, 'the real client sends a check-in (exit 0)',
	    'exit ' + r.code + ' ' + r.stdout + ' ' + r.stderr);
	let grew = true;
	try {
		await page.waitForFunction((want) => {
			const el = document.getElementById('checkins-total');
			return el && Number(el.dataset.count) === want;
		}, before + 1, { timeout: UPDATE_MS, polling: 200 });
	} catch (e) {
		grew = false;
	}
	check(grew, 'the count on the page becomes ' + (before + 1) +
	    ' within ' + UPDATE_MS / 1000 + ' s',
	    'shows ' + await total.textContent() + '; connection ' +
	    await page.locator('#conn').getAttribute('data-state'));
	check(await page.evaluate(() => window.__pinganMarker) === marker &&
	    navigations === navBefore &&
	    await page.evaluate(() => performance.getEntriesByType('navigation')
		.length) === 1,
	    '... without a reload', 'navigations ' + navBefore + ' -> ' +
	    navigations);
	const blank = await page.evaluate(() => window.__blank);
	check(blank.length === 0, '... with no section blank meanwhile',
	    blank.join(', '));
	const scrollAfter = await page.evaluate(() => window.scrollY);
	check(Math.abs(scrollAfter - scrollBefore) <= 2,
	    '... and the scroll position kept (' + scrollBefore + ')',
	    scrollBefore + ' -> ' + scrollAfter);
	console.log('# connection state: ' +
	    await page.locator('#conn').getAttribute('data-state') + ', ' +
	    await page.locator('#updated-at').textContent());

	fs.mkdirSync(shotDir, { recursive: true });
	const wide = path.join(shotDir, 'dashboard-1366.png');
	await page.screenshot({ path: wide, fullPage: true });
	console.log('shot ' + wide);

	// A phone: nothing wider than the screen.
	await page.setViewportSize({ width: 375, height: 812 });
	await page.waitForTimeout(500);	// the charts redraw after a resize
	const widths = await page.evaluate(() => [
		document.documentElement.scrollWidth,
		document.documentElement.clientWidth,
	]);
	check(widths[0] <= widths[1], 'no horizontal scroll at 375 px',
	    'scrollWidth ' + widths[0] + ' > ' + widths[1]);
	const narrow = path.join(shotDir, 'dashboard-375.png');
	await page.screenshot({ path: narrow, fullPage: true });
	console.log('shot ' + narrow);

	const violations = await page.evaluate(() => window.__csp);
	check(violations.length === 0, 'no CSP violation',
	    violations.join('; '));
	check(errors.length === 0, 'no console error, page error or failed '
	    + 'request', errors.join('; '));

	// Logging out shows the form again.
	await page.click('#logout');
	await page.locator('#login-form').waitFor({ state: 'visible' });
	check(await page.locator('#board').isHidden() &&
	    (await page.locator('#checkins').textContent()) === '',
	    'logging out hides the board and clears it');
	await context.close();
} catch (e) {
	fail('the browser run ended normally', e && e.stack ? e.stack : e);
	code = 1;
} finally {
	await browser.close().catch(() => {});
	clearTimeout(killer);
}
process.exit(failures || code ? 1 : 0);
