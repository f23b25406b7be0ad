/* kubelet.c: GET <kubelet-url>/pods with libcurl's multi interface on the
 * agent's event loop (see kubelet.h).
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when it
 * wants to be woken (CURLMOPT_TIMERFUNCTION); both become loop fds and loop
 * timers, and every wake-up goes back to curl_multi_socket_action.
 *
 * Scheduling: at most one fetch is pending (asked for, not started) and at most
 * one in flight. A pending fetch has the earliest start any caller asked for,
 * moved later if needed so that two starts are min_interval_ms apart; it
 * starts from a loop timer, never inside kubelet_request, so the done callback
 * never runs inside a caller's own call. The in-flight fetch has sequence
 * number started_seq; a pending one will be started_seq + 1.
 *
 * The response is untrusted: Content-Length is never used to size anything,
 * the body is kept only up to max_body bytes, and only a short, printable
 * excerpt of an error response is kept for the message.
 *
 * kubelet_free drops the pending and in-flight fetches without calling done.
 * It may be called from the done callback; the free then happens when the
 * callback returns.
 */
#include "kubelet.h"

#include "log.h"
#include "loop.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#define KUBELET_MAX_TOKEN    16384		  /* bytes of a token file; larger is an error */
#define KUBELET_MAX_EXCERPT  200		  /* bytes of an error response quoted in err */
#define KUBELET_MAX_ERR	     2048		  /* whole error message, URL included */
#define KUBELET_MAX_DELAY_MS (24 * 3600 * 1000LL) /* longer delays are cut to this */

struct kubelet {
	struct loop *loop;
	CURLM *multi;
	CURL *easy; /* reused for every fetch */
	char *url;  /* "<base>/pods" */
	char *token_file;
	int64_t timeout_ms;
	int64_t min_interval_ms;
	size_t max_body;
	kubelet_done_fn done;
	void *ctx;

	/* Scheduling. */
	uint64_t started_seq; /* last fetch started, 0 before the first */
	int64_t last_start_ms;
	bool in_flight;
	bool pending;
	int64_t pending_at_ms;		/* earliest start asked for */
	struct loop_timer *start_timer; /* armed while pending and not in flight */
	int64_t start_due_ms;

	/* The transfer in flight. */
	struct curl_slist *headers;
	int64_t transfer_start_ms;
	char *body; /* NUL-terminated */
	size_t body_len, body_cap;
	bool too_large;
	char errbuf[CURL_ERROR_SIZE];
	int callback_error; /* errno from a socket or timer callback, 0 if none */

	/* libcurl's wake-ups. */
	struct loop_timer *curl_timer;
	int *fds; /* sockets registered with the loop */
	size_t n_fds, cap_fds;

	/* Lifetime. */
	bool closing;	    /* kubelet_free is tearing down: callbacks do nothing */
	bool in_done;	    /* the done callback is running */
	bool free_deferred; /* kubelet_free was called from it */

	struct kubelet_stats stats;
};

static void kubelet_destroy(struct kubelet *k);

/* Calls the done callback. Returns false when k was freed by it. */
static bool kubelet_call_done(struct kubelet *k, uint64_t seq, bool ok, const char *body,
			      size_t len, const char *err)
{
	if (!ok)
		k->stats.errors++;
	if (ok)
		log_debug("kubelet: fetch %llu: GET %s: %zu bytes", (unsigned long long)seq, k->url,
			  len);
	else
		log_debug("kubelet: fetch %llu: %s", (unsigned long long)seq, err);
	k->in_done = true;
	k->done(k->ctx, seq, ok, body, len, err);
	k->in_done = false;
	if (k->free_deferred) {
		kubelet_destroy(k);
		return false;
	}
	return true;
}

/* ---- scheduling ---- */

static void kubelet_start(struct kubelet *k);

static void kubelet_start_due(struct loop *loop, void *arg)
{
	struct kubelet *k = arg;

	(void)loop;
	k->start_timer = NULL;
	kubelet_start(k);
}

/* Arms or moves the start timer for the pending fetch, if one may start. */
static void kubelet_schedule(struct kubelet *k)
{
	int64_t due, now;

	if (!k->pending || k->in_flight || k->closing)
		return;
	due = k->pending_at_ms;
	if (k->started_seq > 0 && k->last_start_ms + k->min_interval_ms > due)
		due = k->last_start_ms + k->min_interval_ms;
	if (k->start_timer) {
		if (k->start_due_ms == due)
			return;
		loop_timer_cancel(k->loop, k->start_timer);
		k->start_timer = NULL;
	}
	now = loop_now_ms();
	k->start_timer = loop_timer_add(k->loop, due > now ? due - now : 0, kubelet_start_due, k);
	if (!k->start_timer) {
		log_warn(
		    "kubelet: GET %s: cannot add a timer; the fetch waits for the next request",
		    k->url);
		return;
	}
	k->start_due_ms = due;
}

static uint64_t kubelet_request_at(struct kubelet *k, int64_t at_ms)
{
	if (!k->pending || at_ms < k->pending_at_ms)
		k->pending_at_ms = at_ms;
	k->pending = true;
	kubelet_schedule(k);
	return k->started_seq + 1;
}

uint64_t kubelet_request(struct kubelet *k)
{
	return kubelet_request_at(k, loop_now_ms());
}

uint64_t kubelet_request_after(struct kubelet *k, int64_t delay_ms)
{
	if (delay_ms < 0)
		delay_ms = 0;
	if (delay_ms > KUBELET_MAX_DELAY_MS)
		delay_ms = KUBELET_MAX_DELAY_MS;
	return kubelet_request_at(k, loop_now_ms() + delay_ms);
}

void kubelet_get_stats(const struct kubelet *k, struct kubelet_stats *out)
{
	*out = k->stats;
}

/* ---- the transfer ---- */

/* Appends n bytes to the body, growing it up to limit bytes (plus the NUL). */
static bool kubelet_append(struct kubelet *k, const char *data, size_t n, size_t limit)
{
	if (n > limit - k->body_len)
		return false;
	if (k->body_len + n + 1 > k->body_cap) {
		size_t cap = k->body_cap ? k->body_cap : (limit < 16384 ? limit + 1 : 16384);
		char *b;
		while (cap < k->body_len + n + 1)
			cap = cap > limit / 2 ? limit + 1 : cap * 2;
		b = realloc(k->body, cap);
		if (!b)
			return false;
		k->body = b;
		k->body_cap = cap;
	}
	memcpy(k->body + k->body_len, data, n);
	k->body_len += n;
	k->body[k->body_len] = '\0';
	return true;
}

/* CURLOPT_WRITEFUNCTION: returning less than given aborts the transfer. */
static size_t kubelet_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kubelet *k = arg;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* Keep the start of an error response for the message, then stop. */
		size_t room = KUBELET_MAX_EXCERPT - k->body_len;
		if (n <= room)
			return kubelet_append(k, data, n, KUBELET_MAX_EXCERPT) ? n : 0;
		if (room > 0)
			kubelet_append(k, data, room, KUBELET_MAX_EXCERPT);
		return 0;
	}
	if (n > k->max_body - k->body_len) {
		k->too_large = true;
		return 0;
	}
	return kubelet_append(k, data, n, k->max_body) ? n : 0;
}

static void kubelet_wipe_headers(struct kubelet *k)
{
	for (struct curl_slist *h = k->headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	if (k->easy)
		curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(k->headers);
	k->headers = NULL;
}

/* Reads the bearer token into tok (KUBELET_MAX_TOKEN + 1 bytes), trailing
 * whitespace trimmed. Returns 0, or -1 with the reason in err. */
static int kubelet_read_token(const struct kubelet *k, char *tok, char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0;
	int fd = open(k->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open token file %s: %s", k->token_file,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "token file %s is not a regular file", k->token_file);
		close(fd);
		return -1;
	}
	while (len <= KUBELET_MAX_TOKEN) {
		ssize_t r = read(fd, tok + len, KUBELET_MAX_TOKEN + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read token file %s: %s", k->token_file,
				 strerror(errno));
			close(fd);
			explicit_bzero(tok, len);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > KUBELET_MAX_TOKEN) {
		snprintf(err, errlen, "token file %s is larger than %d bytes", k->token_file,
			 KUBELET_MAX_TOKEN);
		explicit_bzero(tok, len);
		return -1;
	}
	while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ' ||
			   tok[len - 1] == '\t'))
		len--;
	tok[len] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "token file %s is empty", k->token_file);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		if (c < 0x21 || c > 0x7e) {
			snprintf(err, errlen, "token file %s holds a byte not allowed in a header",
				 k->token_file);
			explicit_bzero(tok, len);
			return -1;
		}
	}
	return 0;
}

/* Builds the request headers. Returns 0, or -1 with the reason in err. */
static int kubelet_build_headers(struct kubelet *k, char *err, size_t errlen)
{
	struct curl_slist *h;

	h = curl_slist_append(NULL, "Accept: application/json");
	if (!h)
		goto nomem;
	k->headers = h;
	if (k->token_file) {
		static const char prefix[] = "Authorization: Bearer ";
		char line[sizeof(prefix) + KUBELET_MAX_TOKEN + 1];
		memcpy(line, prefix, sizeof(prefix) - 1);
		if (kubelet_read_token(k, line + sizeof(prefix) - 1, err, errlen) != 0)
			return -1;
		h = curl_slist_append(k->headers, line);
		explicit_bzero(line, sizeof(line));
		if (!h)
			goto nomem;
		k->headers = h;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Ends a fetch that failed before it reached libcurl. */
static void kubelet_fail_start(struct kubelet *k, const char *reason)
{
	char err[KUBELET_MAX_ERR];

	kubelet_wipe_headers(k);
	snprintf(err, sizeof(err), "GET %s: %s", k->url, reason);
	kubelet_schedule(k);
	kubelet_call_done(k, k->started_seq, false, NULL, 0, err);
}

static void kubelet_start(struct kubelet *k)
{
	char reason[KUBELET_MAX_ERR];
	CURLMcode mc;

	k->started_seq++;
	k->pending = false;
	k->last_start_ms = loop_now_ms();
	k->stats.requests++;
	if (kubelet_build_headers(k, reason, sizeof(reason)) != 0) {
		kubelet_fail_start(k, reason);
		return;
	}
	curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, k->headers);
	k->errbuf[0] = '\0';
	k->body_len = 0;
	k->too_large = false;
	k->callback_error = 0;
	k->transfer_start_ms = loop_now_ms();
	mc = curl_multi_add_handle(k->multi, k->easy);
	if (mc != CURLM_OK) {
		kubelet_fail_start(k, curl_multi_strerror(mc));
		return;
	}
	k->in_flight = true;
	if (k->callback_error) {
		curl_multi_remove_handle(k->multi, k->easy);
		k->in_flight = false;
		snprintf(reason, sizeof(reason), "cannot add a timer: %s",
			 strerror(k->callback_error));
		kubelet_fail_start(k, reason);
	}
}

/* Appends a printable excerpt of an error response to err. */
static void kubelet_append_excerpt(char *err, size_t errlen, const char *body, size_t len)
{
	size_t at = strlen(err), n = 0;

	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' ' ||
			   body[len - 1] == '\t'))
		len--;
	if (len == 0 || at + 3 >= errlen)
		return;
	err[at++] = ':';
	err[at++] = ' ';
	for (; n < len && at + 1 < errlen; n++) {
		unsigned char c = (unsigned char)body[n];
		err[at++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	err[at] = '\0';
}

/* Ends the fetch in flight with libcurl's result, or abandons it for the
 * reason given when libcurl cannot be driven any further. */
static void kubelet_finish(struct kubelet *k, CURLcode res, const char *abandoned)
{
	char err[KUBELET_MAX_ERR];
	long status = 0;
	bool ok = false;
	int64_t now = loop_now_ms();

	curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(k->multi, k->easy);
	kubelet_wipe_headers(k);
	k->in_flight = false;
	k->stats.last_latency_ms = (uint64_t)(now - k->transfer_start_ms);

	if (abandoned) {
		snprintf(err, sizeof(err), "GET %s: %s", k->url, abandoned);
	} else if (status != 0 && status != 200) {
		snprintf(err, sizeof(err), "GET %s: HTTP %ld", k->url, status);
		kubelet_append_excerpt(err, sizeof(err), k->body, k->body ? k->body_len : 0);
	} else if (k->too_large) {
		snprintf(err, sizeof(err), "GET %s: response larger than %zu bytes", k->url,
			 k->max_body);
	} else if (res == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, sizeof(err), "GET %s: timed out after %lld ms (%s)", k->url,
			 (long long)k->timeout_ms,
			 k->errbuf[0] ? k->errbuf : curl_easy_strerror(res));
	} else if (res != CURLE_OK) {
		long os_errno = 0;
		int n = snprintf(err, sizeof(err), "GET %s: %s", k->url,
				 k->errbuf[0] ? k->errbuf : curl_easy_strerror(res));
		/* libcurl says "Couldn't connect to server"; say why. */
		if (res == CURLE_COULDNT_CONNECT &&
		    curl_easy_getinfo(k->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
		    os_errno > 0 && n > 0 && (size_t)n < sizeof(err))
			snprintf(err + n, sizeof(err) - (size_t)n, " (%s)",
				 strerror((int)os_errno));
	} else if (status != 200) {
		snprintf(err, sizeof(err), "GET %s: no HTTP status", k->url);
	} else {
		ok = true;
	}

	kubelet_schedule(k);
	if (ok) {
		if (!kubelet_call_done(k, k->started_seq, true, k->body ? k->body : "", k->body_len,
				       NULL))
			return;
	} else if (!kubelet_call_done(k, k->started_seq, false, NULL, 0, err)) {
		return;
	}
	/* A PodList can be megabytes; do not hold it between fetches. */
	free(k->body);
	k->body = NULL;
	k->body_len = k->body_cap = 0;
}

/* Runs libcurl for a socket or a timeout and ends the fetch if it is done. */
static void kubelet_drive(struct kubelet *k, curl_socket_t s, int ev_bitmask)
{
	int running = 0, left = 0;
	CURLMcode mc = curl_multi_socket_action(k->multi, s, ev_bitmask, &running);
	CURLMsg *msg;

	while ((msg = curl_multi_info_read(k->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == k->easy && k->in_flight) {
			kubelet_finish(k, msg->data.result, NULL);
			return; /* k may be gone */
		}
	}
	if (k->in_flight && k->callback_error) {
		char reason[256];
		snprintf(reason, sizeof(reason), "cannot wait for libcurl's sockets and timers: %s",
			 strerror(k->callback_error));
		kubelet_finish(k, CURLE_ABORTED_BY_CALLBACK, reason);
	} else if (k->in_flight && mc != CURLM_OK) {
		kubelet_finish(k, CURLE_ABORTED_BY_CALLBACK, curl_multi_strerror(mc));
	}
}

static void kubelet_fd_ready(struct loop *loop, int fd, uint32_t events, void *arg)
{
	int mask = 0;

	(void)loop;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		mask |= CURL_CSELECT_ERR;
	kubelet_drive(arg, fd, mask);
}

static void kubelet_curl_timeout(struct loop *loop, void *arg)
{
	struct kubelet *k = arg;

	(void)loop;
	k->curl_timer = NULL;
	kubelet_drive(k, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be woken in timeout_ms (-1: never). */
static int kubelet_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct kubelet *k = arg;

	(void)multi;
	if (k->closing)
		return 0;
	if (k->curl_timer) {
		loop_timer_cancel(k->loop, k->curl_timer);
		k->curl_timer = NULL;
	}
	if (timeout_ms < 0)
		return 0;
	k->curl_timer = loop_timer_add(k->loop, timeout_ms, kubelet_curl_timeout, k);
	if (!k->curl_timer)
		k->callback_error = ENOMEM;
	return 0; /* a failure is reported through the fetch, keeping the multi usable */
}

static ssize_t kubelet_fd_index(const struct kubelet *k, int fd)
{
	for (size_t i = 0; i < k->n_fds; i++)
		if (k->fds[i] == fd)
			return (ssize_t)i;
	return -1;
}

/* CURLMOPT_SOCKETFUNCTION: libcurl wants socket s watched for what. */
static int kubelet_curl_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *socketp)
{
	struct kubelet *k = arg;
	ssize_t i = kubelet_fd_index(k, s);
	uint32_t events = 0;
	int rc;

	(void)easy;
	(void)socketp;
	if (k->closing)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (i >= 0) {
			loop_del_fd(k->loop, s);
			k->fds[i] = k->fds[--k->n_fds];
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EPOLLOUT;
	if (i >= 0) {
		rc = loop_mod_fd(k->loop, s, events);
	} else {
		if (k->n_fds == k->cap_fds) {
			size_t cap = k->cap_fds ? k->cap_fds * 2 : 4;
			int *fds = realloc(k->fds, cap * sizeof(*fds));
			if (!fds) {
				k->callback_error = ENOMEM;
				return 0;
			}
			k->fds = fds;
			k->cap_fds = cap;
		}
		rc = loop_add_fd(k->loop, s, events, kubelet_fd_ready, k);
		if (rc == 0)
			k->fds[k->n_fds++] = s;
	}
	if (rc != 0)
		k->callback_error = -rc;
	return 0; /* a failure is reported through the fetch, keeping the multi usable */
}

/* ---- lifetime ---- */

static bool kubelet_has_scheme(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* Sets the options every fetch shares. Returns false if libcurl refuses one. */
static bool kubelet_setup_easy(struct kubelet *k, const struct kubelet_options *opts)
{
	CURL *e = k->easy;
	bool ok = true;

	ok &= curl_easy_setopt(e, CURLOPT_URL, k->url) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK; /* never via *_proxy env */
	ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)opts->timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_USERAGENT, "glimpse") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kubelet_write) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, k) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	ok &= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
	ok &= curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ==
	      CURLE_OK;
#endif
	if (opts->insecure) {
		ok &= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK;
		ok &= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
	} else if (opts->ca_file && *opts->ca_file) {
		ok &= curl_easy_setopt(e, CURLOPT_CAINFO, opts->ca_file) == CURLE_OK;
	}
	return ok;
}

struct kubelet *kubelet_new(struct loop *loop, const struct kubelet_options *opts,
			    kubelet_done_fn done, void *ctx)
{
	struct kubelet *k;
	size_t n;

	if (!loop || !opts || !done || !opts->url || !kubelet_has_scheme(opts->url)) {
		log_warn("kubelet: the URL must start with http:// or https:// (got \"%s\")",
			 opts && opts->url ? opts->url : "");
		return NULL;
	}
	if (opts->timeout_ms <= 0 || opts->timeout_ms > KUBELET_MAX_DELAY_MS ||
	    opts->min_interval_ms < 0 || opts->min_interval_ms > KUBELET_MAX_DELAY_MS ||
	    opts->max_body == 0 || opts->max_body > SIZE_MAX / 2) {
		log_warn("kubelet: %s: bad options (timeout %lld ms, min interval %lld ms, "
			 "max body %zu bytes)",
			 opts->url, (long long)opts->timeout_ms, (long long)opts->min_interval_ms,
			 opts->max_body);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warn("kubelet: %s: libcurl initialization failed", opts->url);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		goto fail;
	k->loop = loop;
	k->done = done;
	k->ctx = ctx;
	k->timeout_ms = opts->timeout_ms;
	k->min_interval_ms = opts->min_interval_ms;
	k->max_body = opts->max_body;
	n = strlen(opts->url);
	while (n > 0 && opts->url[n - 1] == '/')
		n--;
	k->url = malloc(n + sizeof("/pods"));
	if (!k->url)
		goto fail;
	memcpy(k->url, opts->url, n);
	memcpy(k->url + n, "/pods", sizeof("/pods"));
	if (opts->token_file && *opts->token_file) {
		k->token_file = strdup(opts->token_file);
		if (!k->token_file)
			goto fail;
	}
	k->multi = curl_multi_init();
	k->easy = curl_easy_init();
	if (!k->multi || !k->easy)
		goto fail;
	if (curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, kubelet_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k) != CURLM_OK ||
	    curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, kubelet_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k) != CURLM_OK ||
	    !kubelet_setup_easy(k, opts))
		goto fail;
	return k;
fail:
	log_warn("kubelet: %s: cannot set up libcurl", opts->url);
	if (k)
		kubelet_destroy(k); /* calls curl_global_cleanup */
	else
		curl_global_cleanup();
	return NULL;
}

static void kubelet_destroy(struct kubelet *k)
{
	k->closing = true;
	if (k->start_timer)
		loop_timer_cancel(k->loop, k->start_timer);
	if (k->curl_timer)
		loop_timer_cancel(k->loop, k->curl_timer);
	if (k->in_flight)
		curl_multi_remove_handle(k->multi, k->easy);
	/* Still open: libcurl closes a socket only after telling us to stop watching it. */
	for (size_t i = 0; i < k->n_fds; i++)
		loop_del_fd(k->loop, k->fds[i]);
	if (k->easy)
		curl_easy_cleanup(k->easy);
	if (k->multi)
		curl_multi_cleanup(k->multi);
	kubelet_wipe_headers(k);
	free(k->fds);
	free(k->body);
	free(k->token_file);
	free(k->url);
	free(k);
	curl_global_cleanup();
}

void kubelet_free(struct kubelet *k)
{
	if (!k)
		return;
	if (k->in_done) {
		k->free_deferred = true;
		return;
	}
	kubelet_destroy(k);
}
