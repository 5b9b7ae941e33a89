/*
 * app.js: the supervisors' dashboard (平安工作台), served by pingand.
 *
 * Reads the HTTP API v1 (docs/API.md), draws each section from its JSON
 * and keeps it current: an EventSource on /api/v1/events asks for a fresh
 * read after every commit, and a 15-second poll takes over while the
 * stream is down.  A section's DOM is rebuilt off-document and swapped in
 * with one replaceChildren() only when its data changed, so nothing
 * blinks and the scroll position stays.  Data only ever reaches the page
 * through textContent and attributes, never parsed as markup.
 */
'use strict';

(function () {
	const API = '/api/v1';
	const POLL_MS = 15000;		/* while the event stream is down */
	const LIVE_REFRESH_MS = 60000;	/* hours open, "updated at" */
	const STALE_MS = 45000;		/* no good read for this long */
	const RECONNECT_MS = 30000;	/* a closed stream is opened again */
	const TREND_MS = 30000;		/* the trend is read again after */
	const SVG_NS = 'http://www.w3.org/2000/svg';

	const KINDS = [
		['patrol', '巡逻'], ['screening', '排查'], ['duty', '值班'],
		['visit', '走访'], ['mediation', '调解'], ['other', '其他'],
	];
	const PATROL_TYPES = { security: '治安巡防', forest_fire: '森林防火' };
	const GAP_KINDS = {
		screening_missing: '未报排查',
		duty_uncovered: '值班未到岗',
		window_uncovered: '重点时段未巡逻',
		patrol_overlong: '巡逻超时未结束',
		dispute_overdue: '纠纷逾期',
	};
	const GAP_ORDER = Object.keys(GAP_KINDS);
	const LEVELS = { village: '村级', town: '镇级' };
	const STATUSES = {
		reported: '已上报(待分流)', open: '办理中', mediated: '调处成功',
		escalated: '上交', closed: '办结',
	};
	const WARNINGS = { red: '红色督办', yellow: '黄色预警' };
	const WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六'];
	const CONN_TEXT = {
		connecting: '连接中', live: '实时', polling: '轮询中',
		stale: '数据可能已过期', offline: '离线',
	};

	const $ = (id) => document.getElementById(id);

	const state = {
		me: null,
		keys: {},		/* section -> JSON of what it shows */
		summary: null,
		disputes: null,
		trend: null,
		trendAt: 0,
		lastOk: 0,
		es: null,
		esOpened: false,
		pollTimer: 0,
		liveTimer: 0,
		reconnectTimer: 0,
		staleTimer: 0,
		inflight: null,
		again: false,
		conn: 'connecting',
		trendWidth: 0,
	};

	/* ---- DOM helpers: text only, never markup ------------------------ */

	/* Appends children (nodes or strings; null and false are skipped). */
	function append(node, children) {
		for (const c of children) {
			if (c === null || c === undefined || c === false)
				continue;
			if (Array.isArray(c))
				append(node, c);
			else if (typeof c === 'string' || typeof c === 'number')
				node.appendChild(document.createTextNode(String(c)));
			else
				node.appendChild(c);
		}
		return node;
	}

	/* Sets attributes: class, text, dataset and plain attributes. */
	function attrs(node, a) {
		if (!a)
			return node;
		for (const k of Object.keys(a)) {
			const v = a[k];
			if (v === null || v === undefined || v === false)
				continue;
			if (k === 'class')
				node.setAttribute('class', v);
			else if (k === 'text')
				node.textContent = String(v);
			else if (k === 'data')
				for (const d of Object.keys(v)) {
					if (v[d] !== null && v[d] !== undefined)
						node.dataset[d] = String(v[d]);
				}
			else
				node.setAttribute(k, v === true ? '' : String(v));
		}
		return node;
	}

	/* An HTML element: h('li', {class: 'x'}, child, ...). */
	function h(tag, a, ...children) {
		return append(attrs(document.createElement(tag), a), children);
	}

	/* An SVG element, the same way. */
	function s(tag, a, ...children) {
		return append(attrs(document.createElementNS(SVG_NS, tag), a),
		    children);
	}

	/*
	 * Puts nodes into container in one step, only when key (what they
	 * show) differs from what is there; returns whether it changed.
	 */
	function swap(name, container, key, build) {
		if (state.keys[name] === key)
			return false;
		const nodes = build();
		container.replaceChildren(...(Array.isArray(nodes) ? nodes :
		    [nodes]));
		state.keys[name] = key;
		return true;
	}

	/* ---- times and numbers (the town's clock, as the server wrote it) - */

	/* "2026-11-26T21:30:05+08:00" -> "21:30". */
	function hhmm(iso) {
		return typeof iso === 'string' && iso.length >= 16 ?
		    iso.slice(11, 16) : '—';
	}

	function dayOf(iso) {
		return typeof iso === 'string' ? iso.slice(0, 10) : '';
	}

	/* "2026-11-26" -> "11-26". */
	function mmdd(day) {
		return typeof day === 'string' ? day.slice(5, 10) : '—';
	}

	/* 今天 / 昨天 / 11-24 for a day relative to today. */
	function relDay(day, today) {
		if (day === today)
			return '今天';
		if (day === addDays(today, -1))
			return '昨天';
		return mmdd(day);
	}

	function addDays(day, n) {
		const t = Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1,
		    +day.slice(8, 10)) + n * 86400000;
		return new Date(t).toISOString().slice(0, 10);
	}

	/* "2026-11-26" -> "2026年11月26日 星期四". */
	function longDay(day) {
		if (!/^\d{4}-\d{2}-\d{2}$/.test(day || ''))
			return '';
		const d = new Date(Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1,
		    +day.slice(8, 10)));
		return day.slice(0, 4) + '年' + (+day.slice(5, 7)) + '月' +
		    (+day.slice(8, 10)) + '日 星期' + WEEKDAYS[d.getUTCDay()];
	}

	/* A time of day; a window's end at the next midnight is 24:00. */
	function windowEnd(from, to) {
		return dayOf(to) !== dayOf(from) && hhmm(to) === '00:00' ?
		    '24:00' : hhmm(to);
	}

	function hours(x) {
		const n = Number(x) || 0;
		return (Math.round(n * 10) / 10).toString();
	}

	function num(x) {
		return Number.isFinite(Number(x)) ? Number(x) : 0;
	}

	function pad2(n) {
		return (n < 10 ? '0' : '') + n;
	}

	function clock(d) {
		return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' +
		    pad2(d.getSeconds());
	}

	function person(p) {
		if (!p)
			return '—';
		return p.name ? p.name : p.code;
	}

	/* ---- the API ------------------------------------------------------ */

	class ApiError extends Error {
		constructor(status, code, message, retryAfter) {
			super(message || ('HTTP ' + status));
			this.status = status;
			this.code = code || '';
			this.retryAfter = retryAfter;
		}
	}

	/* Reads an error body {"error": {"code", "message"}} if there is one. */
	async function failure(res) {
		let code = '', message = '';
		try {
			const j = await res.json();
			if (j && j.error) {
				code = String(j.error.code || '');
				message = String(j.error.message || '');
			}
		} catch (e) {
			/* not JSON: the status says enough */
		}
		return new ApiError(res.status, code, message,
		    res.headers.get('Retry-After'));
	}

	async function get(path) {
		const res = await fetch(API + path, {
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { Accept: 'application/json' },
		});
		if (!res.ok)
			throw await failure(res);
		return res.json();
	}

	async function post(path, body) {
		const res = await fetch(API + path, {
			method: 'POST',
			credentials: 'same-origin',
			cache: 'no-store',
			headers: {
				Accept: 'application/json',
				'Content-Type': 'application/x-www-form-urlencoded',
			},
			body: body ? body.toString() : '',
		});
		if (!res.ok)
			throw await failure(res);
		return res.status === 204 ? null : res.json();
	}

	/* ---- connection state -------------------------------------------- */

	function setConn(which) {
		state.conn = which;
		const c = $('conn');
		c.dataset.state = which;
		$('conn-state').textContent = CONN_TEXT[which] || which;
		document.body.classList.toggle('stale',
		    which === 'stale' || which === 'offline');
	}

	function banner(text, bad) {
		const b = $('banner');
		if (!text) {
			b.hidden = true;
			return;
		}
		if (b.textContent !== text)
			b.textContent = text;
		b.classList.toggle('bad', !!bad);
		b.hidden = false;
	}

	/* Marks the data stale when no read succeeded for a while. */
	function checkStale() {
		if (!state.me || !state.lastOk || streaming())
			return;
		const age = Date.now() - state.lastOk;
		if (age > STALE_MS && state.conn !== 'offline')
			setConn('stale');
	}

	/* ---- refreshing -------------------------------------------------- */

	/* Reads everything again; overlapping calls collapse into one more. */
	function refresh() {
		if (!state.me)
			return Promise.resolve();
		if (state.inflight) {
			state.again = true;
			return state.inflight;
		}
		state.inflight = load().finally(() => {
			state.inflight = null;
			if (state.again) {
				state.again = false;
				refresh();
			}
		});
		return state.inflight;
	}

	async function load() {
		let summary, gaps, disputes, trend;
		try {
			[summary, gaps, disputes, trend] = await Promise.all([
				get('/summary'),
				get('/gaps'),
				get('/disputes?status=open'),
				/* the 30 days change slowly: read at most twice a minute */
				state.trend && Date.now() - state.trendAt < TREND_MS ?
				    state.trend : get('/trend?days=30'),
			]);
		} catch (e) {
			if (e instanceof ApiError && e.status === 401) {
				showLogin('登录已过期，请重新登录。');
				return;
			}
			const when = state.lastOk ?
			    '，页面显示的是 ' + clock(new Date(state.lastOk)) +
			    ' 的数据' : '';
			if (e instanceof ApiError)
				banner('读取数据失败（' + e.status + ' ' +
				    (e.message || e.code) + '）' + when + '。', true);
			else
				banner('无法连接服务器' + when + '，稍后自动重试。', true);
			if (!state.lastOk || Date.now() - state.lastOk > STALE_MS)
				setConn('offline');
			startPolling();
			return;
		}
		if (!state.me)
			return;		/* logged out while reading */
		state.summary = summary;
		state.disputes = disputes;
		if (trend !== state.trend)
			state.trendAt = Date.now();
		state.trend = trend;
		renderHeader(summary);
		renderGaps(gaps, summary);
		renderOverview(summary, gaps);
		renderDisputes(disputes);
		renderVillages(summary, disputes);
		renderTrend(trend, false);
		state.lastOk = Date.now();
		$('updated-at').textContent = '更新于 ' + clock(new Date());
		banner(null);
		if (streaming()) {
			setConn('live');
			stopPolling();
		} else if (!(state.es && !state.esOpened &&
		    state.es.readyState === 0)) {
			/* (while the stream makes its first connection, wait) */
			setConn('polling');
			startPolling();
		}
	}

	/* Whether the event stream is open now. */
	function streaming() {
		return !!(state.es && state.esOpened && state.es.readyState === 1);
	}

	/* ---- sections ---------------------------------------------------- */

	function renderHeader(summary) {
		const day = summary.to || summary.from || '';
		const t = longDay(day);
		if ($('today').textContent !== t)
			$('today').textContent = t;
		$('today').dataset.day = day;
	}

	/*
	 * Gaps of one kind, day and cutoff (or window) are shown together,
	 * one name each; a stuck patrol or an overdue dispute stands alone.
	 */
	function gapGroup(g) {
		switch (g.kind) {
		case 'screening_missing':
		case 'duty_uncovered':
			return [g.day, g.kind, !!g.overdue, g.cutoff].join('|');
		case 'window_uncovered':
			return [g.day, g.kind, !!g.overdue, g.type, g.from,
			    g.to].join('|');
		default:
			return null;
		}
	}

	/* What a gap is about (a name), and when it was or is due. */
	function gapText(g, names) {
		const type = PATROL_TYPES[g.type] || g.type || '';
		switch (g.kind) {
		case 'screening_missing':
			return [g.village_name || g.village,
			    '截止 ' + hhmm(g.cutoff) + (g.overdue ? '，未报' :
			    ' 前上报')];
		case 'duty_uncovered':
			return [g.post_name || g.post,
			    '截止 ' + hhmm(g.cutoff) + (g.overdue ? '，无人到岗' :
			    ' 前到岗')];
		case 'window_uncovered':
			return [g.village_name || g.village,
			    type + ' ' + hhmm(g.from) + '–' + windowEnd(g.from,
			    g.to) + (g.overdue ? '，无巡逻' : '，尚无巡逻')];
		case 'patrol_overlong': {
			const who = (g.members || []).map((c) => names[c] || c);
			return [type + ' · ' + (who.join('、') || '—'),
			    '出发 ' + mmdd(dayOf(g.started)) + ' ' +
			    hhmm(g.started) + '，已 ' + hours(g.hours_open) +
			    ' 小时未结束'];
		}
		case 'dispute_overdue':
			return [(g.village_name || g.village) + ' · ' +
			    (g.category || ''),
			    '期限 ' + (g.deadline || '—') + '，逾期 ' +
			    num(g.days_overdue) + ' 天' +
			    (g.leader ? '，包案 ' + (names[g.leader] || g.leader) :
			    '')];
		default:
			return [g.village_name || g.post_name || g.kind, ''];
		}
	}

	function workerNames(summary) {
		const names = {};
		for (const w of (summary && summary.workers) || [])
			names[w.code] = w.name;
		return names;
	}

	function renderGaps(gaps, summary) {
		const list = (gaps && gaps.gaps) || [];
		const today = summary.to || summary.from;
		const sorted = list.slice().sort((a, b) =>
		    (b.day || '').localeCompare(a.day || '') ||
		    (b.overdue ? 1 : 0) - (a.overdue ? 1 : 0) ||
		    GAP_ORDER.indexOf(a.kind) - GAP_ORDER.indexOf(b.kind) ||
		    (a.village || a.post || '').localeCompare(b.village ||
		    b.post || ''));
		const groups = [], byKey = {};
		for (const g of sorted) {
			const k = gapGroup(g);
			if (k !== null && byKey[k]) {
				byKey[k].push(g);
				continue;
			}
			const grp = [g];
			if (k !== null)
				byKey[k] = grp;
			groups.push(grp);
		}
		const nToday = list.filter((g) => g.day === today).length;
		const nLate = list.filter((g) => g.overdue).length;
		const count = list.length ? '今天 ' + nToday + ' 项 · 昨天及以前 ' +
		    (list.length - nToday) + ' 项 · 已超时 ' + nLate + ' 项' : '';
		if ($('gaps-count').textContent !== count)
			$('gaps-count').textContent = count;
		$('gaps').classList.toggle('clear', list.length === 0);
		$('gaps').dataset.count = String(list.length);
		const names = workerNames(summary);
		swap('gaps', $('gaps-body'), JSON.stringify([today, sorted, names]),
		    () => {
			if (!groups.length)
				return h('p', { id: 'gaps-clear', class: 'ok-msg',
				    text: '今天和昨天没有缺口，各项工作均已完成。' });
			return h('ul', { id: 'gaps-list', class: 'gap-list' },
			    groups.map((grp) => {
				const g = grp[0];
				const when = gapText(g, names)[1];
				return h('li', {
					class: 'gap ' + (g.overdue ? 'overdue' : 'pending'),
					data: { kind: g.kind, day: g.day,
					    overdue: g.overdue ? 'true' : 'false' },
				},
				h('span', { class: 'badge ' + (g.overdue ? 'red' :
				    'amber'), text: g.overdue ? '已超时' : '待完成' }),
				h('div', null,
				    h('div', { class: 'what', text: relDay(g.day, today) +
					' · ' + (GAP_KINDS[g.kind] || g.kind) +
					(grp.length > 1 ? '（' + grp.length + ' 处）' :
					'') }),
				    h('div', { class: 'items' }, grp.map((x) =>
					h('span', { class: 'gap-item', data: {
					    village: x.village, post: x.post,
					    patrol: x.patrol, dispute: x.dispute } },
					    gapText(x, names)[0]))),
				    h('div', { class: 'when', text: when })));
			}));
		});
	}

	function renderOverview(summary, gaps) {
		const town = summary.town || {};
		const c = town.checkins || {};
		const total = num(c.total);
		const today = summary.to || summary.from;

		/* The total is updated in place so that a change can be seen. */
		let totalEl = $('checkins-total');
		swap('checkins', $('checkins'), JSON.stringify(c), () => [
			h('h3', { text: '今日签到' }),
			h('div', { class: 'total' },
			    h('span', { id: 'checkins-total', class: 'num',
				data: { count: totalEl ? totalEl.dataset.count : total },
				text: totalEl ? totalEl.textContent : String(total) }),
			    h('span', { class: 'unit', text: '次' })),
			h('ul', { class: 'kinds', id: 'checkins-kinds' },
			    KINDS.map(([k, label]) => h('li', { data: { kind: k } },
				label, h('b', { text: String(num(c[k])) })))),
		]);
		totalEl = $('checkins-total');
		if (totalEl.dataset.count !== String(total)) {
			const grew = Number(totalEl.dataset.count) < total;
			totalEl.textContent = String(total);
			totalEl.dataset.count = String(total);
			if (grew) {
				totalEl.classList.remove('bump');
				void totalEl.offsetWidth;	/* restart the animation */
				totalEl.classList.add('bump');
			}
		}

		/* Patrols out now. */
		const open = summary.patrols_open || [];
		const longIds = new Set(((gaps && gaps.gaps) || [])
		    .filter((g) => g.kind === 'patrol_overlong')
		    .map((g) => g.patrol));
		swap('patrols', $('patrols-open'), JSON.stringify(open), () => [
			h('h3', { text: '正在巡逻（' + open.length + ' 队）' }),
			open.length ? h('ul', { class: 'patrol-list' },
			    open.map((p) => h('li', {
				class: longIds.has(p.patrol) ? 'long' : null,
				data: { patrol: p.patrol, type: p.type },
			    },
			    h('span', { class: 'badge ' + (p.type === 'forest_fire' ?
				'green' : 'grey'),
				text: p.type_label || PATROL_TYPES[p.type] || p.type }),
			    h('span', { class: 'who', text: (p.members || [])
				.map((m) => m.name || m.code).join('、') || '—' }),
			    h('span', { class: 'sub', text: '出发 ' +
				(dayOf(p.started) === today ? '' :
				mmdd(dayOf(p.started)) + ' ') + hhmm(p.started) +
				'（已 ' + hours(p.hours_open) + ' 小时）· 定位点 ' +
				num(p.points) + ' 个' + (p.last_point ?
				'，最近 ' + hhmm(p.last_point) : '，尚无定位') }))))
			    : h('p', { class: 'empty', text: '目前没有在外巡逻的队伍。' }),
		]);

		/* Screening: who reported (zero reports, items), who not yet. */
		const villages = summary.villages || [];
		const scr = town.screening || {};
		const missing = {};
		for (const g of (summary.gaps || []))
			if (g.kind === 'screening_missing' && g.day === today)
				missing[g.village] = g;
		const done = villages.filter((v) => v.screening &&
		    v.screening.reported);
		const notYet = villages.filter((v) => !(v.screening &&
		    v.screening.reported));
		swap('screening', $('screening'), JSON.stringify([villages.map(
		    (v) => [v.code, v.name, v.screening]), missing, scr]), () => [
			h('h3', { text: '排查上报 ' + done.length + '/' +
			    villages.length + ' 村（零报告 ' + num(scr.zero_reports) +
			    ' · 事项 ' + num(scr.items) + '）' }),
			done.length ? h('div', { class: 'chips', id: 'screening-done' },
			    done.map((v) => h('span', { class: 'chip',
				data: { village: v.code, screened: 'true' } },
				v.name, h('small', { text: (num(v.screening.items) ?
				    '事项 ' + num(v.screening.items) : '') +
				    (num(v.screening.items) &&
				    num(v.screening.zero_reports) ? ' · ' : '') +
				    (num(v.screening.zero_reports) ? '零报告 ' +
				    num(v.screening.zero_reports) : '') }))))
			    : null,
			notYet.length ? h('div', { class: 'chips',
			    id: 'screening-missing' },
			    notYet.map((v) => {
				const g = missing[v.code];
				return h('span', { class: 'chip ' + (g && g.overdue ?
				    'overdue' : 'pending'),
				    data: { village: v.code, screened: 'false' } },
				    v.name, h('small', { text: g ? (g.overdue ?
					'未报，已过 ' + hhmm(g.cutoff) :
					'未报，截止 ' + hhmm(g.cutoff)) : '未报' }));
			    }))
			    : h('p', { class: 'ok-msg', text: '各村(居)今日排查均已上报。' }),
		]);

		/* Duty posts. */
		const posts = summary.duty_posts || [];
		const covered = posts.filter((p) => p.covered).length;
		swap('duty', $('duty'), JSON.stringify(posts), () => [
			h('h3', { text: '值班到岗 ' + covered + '/' + posts.length +
			    ' 岗' }),
			posts.length ? h('div', { class: 'chips', id: 'duty-posts' },
			    posts.map((p) => h('span', {
				class: 'chip' + (p.covered ? '' : p.overdue ?
				    ' overdue' : ' pending'),
				data: { post: p.post, covered: p.covered ? 'true' :
				    'false' },
			    }, p.name || p.post, h('small', { text: p.covered ?
				'在岗' : (p.overdue ? '未到岗，已过 ' :
				'未到岗，截止 ') + hhmm(p.cutoff) }))))
			    : h('p', { class: 'empty', text: '没有值班岗位。' }),
		]);
	}

	function warnRank(d) {
		return d.warning === 'red' ? 0 : d.warning === 'yellow' ? 1 : 2;
	}

	function daysLeft(d) {
		if (d.days_left === null || d.days_left === undefined)
			return h('span', { text: '—' });
		const n = Number(d.days_left);
		if (n < 0)
			return h('span', { class: 'late', text: '逾期 ' + (-n) + ' 天' });
		if (n === 0)
			return h('span', { class: 'soon', text: '今天到期' });
		return h('span', { class: d.warning === 'yellow' ? 'soon' : null,
		    text: n + ' 天' });
	}

	function renderDisputes(list) {
		const all = ((list && list.disputes) || []).slice().sort((a, b) =>
		    warnRank(a) - warnRank(b) ||
		    (a.deadline ? 0 : 1) - (b.deadline ? 0 : 1) ||
		    (a.deadline || '').localeCompare(b.deadline || '') ||
		    (a.reported_at || '').localeCompare(b.reported_at || ''));
		const red = all.filter((d) => d.warning === 'red').length;
		const yellow = all.filter((d) => d.warning === 'yellow').length;
		const count = '在办 ' + all.length + ' 件 · 红色督办 ' + red +
		    ' · 黄色预警 ' + yellow;
		if ($('disputes-count').textContent !== count)
			$('disputes-count').textContent = count;
		const cell = (label, ...c) => h('td', { data: { label: label } },
		    ...c);
		swap('disputes', $('disputes-body'), JSON.stringify(all), () => {
			if (!all.length)
				return h('p', { class: 'empty',
				    text: '目前没有在办的矛盾纠纷。' });
			return h('div', { class: 'table-wrap' },
			    h('table', { class: 'stack', id: 'disputes-table' },
				h('thead', null, h('tr', null,
				    ['督办', '级别', '村(居)', '类别', '摘要', '包案领导',
					'办案人员', '办结时限', '剩余']
					.map((t) => h('th', { text: t })))),
				h('tbody', null, all.map((d) => h('tr', {
				    class: WARNINGS[d.warning] ? d.warning : null,
				    data: { dispute: d.id, village: d.village,
					warning: d.warning || 'none' },
				},
				cell('督办', WARNINGS[d.warning] ? h('span', {
				    class: 'badge ' + d.warning,
				    text: WARNINGS[d.warning] || d.warning }) : '—'),
				cell('级别', d.status === 'reported' ?
				    STATUSES.reported : (LEVELS[d.level] || '—')),
				cell('村(居)', d.village_name || d.village || '—'),
				cell('类别', d.category || '—', d.major ?
				    h('span', { class: 'badge red', text: '重大' })
				    : null),
				h('td', { class: 'summary wide', data: { label: '摘要' },
				    text: d.summary || '' }),
				cell('包案领导', person(d.leader)),
				cell('办案人员', (d.handlers || []).map(person)
				    .join('、') || '—'),
				cell('办结时限', d.deadline || '—'),
				cell('剩余', daysLeft(d)))))));
		});
	}

	function renderVillages(summary, list) {
		const villages = summary.villages || [];
		const open = {}, red = {};
		for (const d of (list && list.disputes) || []) {
			open[d.village] = (open[d.village] || 0) + 1;
			if (d.warning === 'red')
				red[d.village] = (red[d.village] || 0) + 1;
		}
		const posts = {};
		for (const p of summary.duty_posts || [])
			posts[p.post] = p;
		const today = summary.to || summary.from;
		const late = {};	/* village -> its screening is overdue */
		for (const g of summary.gaps || [])
			if (g.kind === 'screening_missing' && g.day === today)
				late[g.village] = !!g.overdue;
		const cell = (label, cls, ...c) => h('td', {
		    class: cls, data: { label: label } }, ...c);
		swap('villages', $('villages-body'),
		    JSON.stringify([villages, open, red, posts, late]), () =>
		    h('div', { class: 'table-wrap' },
			h('table', { class: 'stack', id: 'villages-table' },
			    h('thead', null, h('tr', null,
				[['村(居)', null], ['排查', null], ['签到', 'num'],
				    ['巡逻', 'num'], ['巡逻时长', 'num'], ['值班', null],
				    ['重点时段', null], ['在办纠纷', 'num']]
				    .map(([t, c]) => h('th', { class: c, text: t })))),
			    h('tbody', null, villages.map((v) => {
				const sc = v.screening || {};
				const post = posts[v.code];
				const duty = v.duty || {};
				const win = v.windows || {};
				return h('tr', { data: { village: v.code } },
				    cell('村(居)', 'head wide', h('b', { text: v.name ||
					v.code })),
				    cell('排查', 'wide', sc.reported ?
					h('span', { class: 'yes', text: '已报 ' +
					    num(sc.grids_reported) + '/' +
					    num(sc.grids_total) + ' 网格 · 零报告 ' +
					    num(sc.zero_reports) + ' · 事项 ' +
					    num(sc.items) }) :
					h('span', { class: late[v.code] === false ?
					    'warn' : 'no', text: '未报（' +
					    num(sc.grids_reported) + '/' +
					    num(sc.grids_total) + ' 网格）' })),
				    cell('签到', 'num', String(num(v.checkins))),
				    cell('巡逻', 'num', num(v.patrols) + ' 次'),
				    cell('巡逻时长', 'num', hours(v.patrol_hours) + ' 小时'),
				    cell('值班', null, duty.covered ?
					h('span', { class: 'yes', text: '在岗' }) :
					h('span', { class: post && !post.overdue ? 'warn' :
					    'no', text: '未到岗' })),
				    cell('重点时段', null, num(win.total) ?
					h('span', { class: num(win.covered) < num(win.total) ?
					    'no' : 'yes', text: num(win.covered) + '/' +
					    num(win.total) + ' 已巡' }) : '—'),
				    cell('在办纠纷', 'num', String(open[v.code] || 0),
					red[v.code] ? h('span', { class: 'late',
					    text: '（红 ' + red[v.code] + '）' }) : null));
			    })))));
	}

	/* ---- the trend charts (SVG) --------------------------------------- */

	/* A round upper bound for an axis, and its step (whole for counts). */
	function niceScale(max, ticks, integer) {
		if (!(max > 0) || (integer && max <= ticks))
			return { top: ticks, step: 1 };
		const raw = max / ticks;
		const mag = Math.pow(10, Math.floor(Math.log10(raw)));
		let step = 10 * mag;
		for (const m of [1, 2, 2.5, 5]) {
			if (integer && !Number.isInteger(m * mag))
				continue;
			if (m * mag >= raw) {
				step = m * mag;
				break;
			}
		}
		return { top: step * Math.ceil(max / step), step: step };
	}

	function fmtTick(v) {
		return Number.isInteger(v) ? String(v) :
		    (Math.round(v * 100) / 100).toString();
	}

	/*
	 * A bar chart of days: series [{key, label, cls, unit}] side by side
	 * in each day's band, y axis with grid lines, x labels every few days,
	 * and a <title> per day as its tooltip.
	 */
	function barChart(days, series, width, id) {
		const W = Math.max(260, Math.round(width));
		const H = W < 420 ? 170 : 190;
		const m = { l: 34, r: 6, t: 10, b: 22 };
		const pw = W - m.l - m.r, ph = H - m.t - m.b;
		let max = 0;
		for (const d of days)
			for (const se of series)
				max = Math.max(max, num(d[se.key]));
		const sc = niceScale(max, 4, series.every((se) => se.whole));
		const y = (v) => m.t + ph - (v / sc.top) * ph;
		const band = pw / Math.max(1, days.length);
		const gapw = Math.min(4, band * 0.2);
		const bw = Math.max(1, (band - gapw) / series.length);
		const svg = s('svg', {
			id: id, viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
			role: 'img', 'aria-labelledby': id + '-t',
		}, s('title', { id: id + '-t', text: series.map((x) => x.label)
		    .join('、') + '（近 ' + days.length + ' 天）' }));
		for (let v = 0; v <= sc.top + 1e-9; v += sc.step) {
			const yy = Math.round(y(v)) + 0.5;
			svg.appendChild(s('line', { class: v === 0 ? 'axis' : 'grid',
			    x1: m.l, x2: W - m.r, y1: yy, y2: yy }));
			svg.appendChild(s('text', { x: m.l - 4, y: yy + 4,
			    'text-anchor': 'end', text: fmtTick(v) }));
		}
		svg.appendChild(s('line', { class: 'axis', x1: m.l + 0.5,
		    x2: m.l + 0.5, y1: m.t, y2: m.t + ph }));
		const every = Math.max(1, Math.ceil(days.length / (pw / 48)));
		days.forEach((d, i) => {
			const x0 = m.l + i * band;
			const g = s('g', { class: 'day', data: { day: d.day } },
			    s('title', { text: d.day + '\n' + series.map((se) =>
				se.label + ' ' + fmtTick(num(d[se.key])) + ' ' +
				se.unit).join('\n') }),
			    s('rect', { class: 'hit', x: x0, y: m.t, width: band,
				height: ph }));
			series.forEach((se, j) => {
				const v = num(d[se.key]);
				if (v <= 0)
					return;
				const top = y(v);
				g.appendChild(s('rect', { class: se.cls,
				    x: (x0 + gapw / 2 + j * bw).toFixed(1),
				    y: top.toFixed(1), width: bw.toFixed(1),
				    height: Math.max(1, m.t + ph - top).toFixed(1) }));
			});
			svg.appendChild(g);
			if ((days.length - 1 - i) % every === 0)
				svg.appendChild(s('text', { x: (x0 + band / 2)
				    .toFixed(1), y: H - 6, 'text-anchor': 'middle',
				    text: mmdd(d.day) }));
		});
		return svg;
	}

	function chart(id, title, days, series, width) {
		const sum = (k) => hours(days.reduce((a, d) => a + num(d[k]), 0));
		return h('figure', { class: 'chart', id: id + '-fig' },
		    h('figcaption', null, h('b', { text: title }),
			series.length > 1 ? h('span', { class: 'legend' },
			    series.map((se) => h('span', null,
				h('i', { class: se.cls }), se.label + ' ' +
				sum(se.key)))) :
			    h('span', { text: '合计 ' + sum(series[0].key) +
				' ' + series[0].unit })),
		    barChart(days, series, width, id));
	}

	function renderTrend(trend, force) {
		if (!trend)
			return;
		const days = trend.days || [];
		const body = $('trend-body');
		const cols = getComputedStyle(body).gridTemplateColumns
		    .split(' ').length || 1;
		const gapPx = 16 * (cols - 1);
		const width = Math.floor((body.clientWidth - gapPx) / cols);
		if (force && Math.abs(width - state.trendWidth) < 8)
			return;
		state.trendWidth = width;
		const range = days.length ? mmdd(days[0].day) + ' 至 ' +
		    mmdd(days[days.length - 1].day) : '';
		if ($('trend-range').textContent !== range)
			$('trend-range').textContent = range;
		swap('trend', body, JSON.stringify([days, width]), () => days.length ?
		    [
			chart('chart-checkins', '每日签到', days,
			    [{ key: 'checkins', label: '签到', cls: 's-checkins',
				unit: '次', whole: true }], width),
			chart('chart-hours', '每日巡逻时长', days,
			    [{ key: 'patrol_hours', label: '巡逻时长',
				cls: 's-hours', unit: '小时' }], width),
			chart('chart-disputes', '矛盾纠纷', days,
			    [{ key: 'disputes_found', label: '排查出',
				cls: 's-found', unit: '件', whole: true },
			    { key: 'disputes_mediated', label: '调处成功',
				cls: 's-mediated', unit: '件', whole: true }], width),
		    ] : h('p', { class: 'empty', text: '暂无数据。' }));
	}

	/* ---- live updates ------------------------------------------------ */

	function startPolling() {
		if (state.pollTimer || !state.me)
			return;
		state.pollTimer = setInterval(refresh, POLL_MS);
	}

	function stopPolling() {
		clearInterval(state.pollTimer);
		state.pollTimer = 0;
	}

	function startLive() {
		stopLive();
		state.liveTimer = setInterval(refresh, LIVE_REFRESH_MS);
		state.staleTimer = setInterval(checkStale, 5000);
		if (typeof EventSource !== 'function') {
			setConn('polling');
			startPolling();
			return;
		}
		openStream();
	}

	function openStream() {
		clearTimeout(state.reconnectTimer);
		state.reconnectTimer = 0;
		const es = new EventSource(API + '/events');
		state.es = es;
		state.esOpened = false;
		es.addEventListener('open', () => {
			if (state.es !== es)
				return;
			state.esOpened = true;
			setConn('live');
			stopPolling();
			refresh();	/* what happened while it was down */
		});
		es.addEventListener('update', () => {
			if (state.es === es)
				refresh();
		});
		es.addEventListener('error', () => {
			if (state.es !== es)
				return;
			if (state.conn === 'live')
				setConn('polling');
			startPolling();
			if (es.readyState === 2) {
				/* closed for good (e.g. a 401): try later */
				es.close();
				state.es = null;
				state.reconnectTimer = setTimeout(() => {
					if (state.me)
						openStream();
				}, RECONNECT_MS);
				refresh();
			}
		});
	}

	function stopLive() {
		if (state.es) {
			state.es.close();
			state.es = null;
		}
		stopPolling();
		clearInterval(state.liveTimer);
		clearInterval(state.staleTimer);
		clearTimeout(state.reconnectTimer);
		state.liveTimer = state.staleTimer = state.reconnectTimer = 0;
	}

	/* ---- login and logout -------------------------------------------- */

	function showBoard(me) {
		state.me = me;
		$('login').hidden = true;
		$('board').hidden = false;
		$('me').textContent = (me.name || me.worker) + '（' +
		    (me.role_label || me.role || '') + ' ' + me.worker + '）';
		$('me').dataset.worker = me.worker;
		$('me').hidden = false;
		$('logout').hidden = false;
		setConn('connecting');
		refresh();
		startLive();
	}

	function clearBoard() {
		for (const id of ['gaps-body', 'checkins', 'patrols-open',
		    'screening', 'duty', 'disputes-body', 'villages-body',
		    'trend-body'])
			$(id).replaceChildren();
		for (const id of ['gaps-count', 'disputes-count', 'trend-range',
		    'updated-at', 'me'])
			$(id).textContent = '';
		state.keys = {};
		state.summary = state.disputes = state.trend = null;
		state.lastOk = state.trendAt = 0;
		banner(null);
	}

	function showLogin(message) {
		state.me = null;
		stopLive();
		clearBoard();
		$('board').hidden = true;
		$('me').hidden = true;
		$('logout').hidden = true;
		$('login').hidden = false;
		setConn('offline');
		$('conn-state').textContent = '未登录';
		loginError(message || null);
		const w = $('login-worker');
		if (!w.value)
			w.focus();
		else
			$('login-secret').focus();
	}

	function loginError(text) {
		const e = $('login-error');
		e.textContent = text || '';
		e.hidden = !text;
	}

	function secretKind() {
		const r = document.querySelector('input[name="kind"]:checked');
		return r && r.value === 'password' ? 'password' : 'token';
	}

	async function onLogin(ev) {
		ev.preventDefault();
		const worker = $('login-worker').value.trim().toUpperCase();
		const secret = $('login-secret').value;
		const kind = secretKind();
		const word = kind === 'password' ? '密码' : '口令';
		if (!worker || !secret) {
			loginError('请填写工号和' + word + '。');
			return;
		}
		const body = new URLSearchParams();
		body.set('worker', worker);
		body.set(kind, secret);
		const btn = $('login-submit');
		btn.disabled = true;
		loginError(null);
		try {
			const me = await post('/login', body);
			$('login-secret').value = '';
			showBoard(me);
		} catch (e) {
			if (!(e instanceof ApiError))
				loginError('无法连接服务器，请检查网络后重试。');
			else if (e.status === 401)
				loginError('工号或' + word + '不正确。');
			else if (e.status === 403)
				loginError('该账号无权查看平安工作台（仅综治中心和管理员可以登录）。');
			else if (e.status === 429)
				loginError('登录失败次数过多，请' + (e.retryAfter ?
				    ' ' + e.retryAfter + ' 秒后' : '稍后') + '再试。');
			else if (e.status === 400)
				loginError('工号或' + word + '的格式不对。');
			else
				loginError('登录失败（' + e.status + '）' +
				    (e.message ? '：' + e.message : '') + '。');
		} finally {
			btn.disabled = false;
		}
	}

	async function onLogout() {
		try {
			await post('/logout');
		} catch (e) {
			/* the session ends on this side either way */
		}
		showLogin(null);
	}

	function onKindChange() {
		$('login-secret-label').textContent = secretKind() === 'password' ?
		    '密码' : '口令';
	}

	/* ---- start --------------------------------------------------------- */

	let resizeTimer = 0;
	function onResize() {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(() => {
			if (state.me && state.trend)
				renderTrend(state.trend, true);
		}, 200);
	}

	async function boot() {
		$('login-form').addEventListener('submit', onLogin);
		$('logout').addEventListener('click', onLogout);
		for (const r of document.querySelectorAll('input[name="kind"]'))
			r.addEventListener('change', onKindChange);
		window.addEventListener('resize', onResize);
		window.addEventListener('online', () => refresh());
		try {
			showBoard(await get('/me'));
		} catch (e) {
			if (e instanceof ApiError && (e.status === 401 ||
			    e.status === 403))
				showLogin(e.status === 403 ?
				    '该账号无权查看平安工作台。' : null);
			else {
				showLogin('无法连接服务器，请稍后刷新页面。');
			}
		}
	}

	boot();
})();
