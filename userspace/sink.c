/* sink.c: the table of sinks and --output parsing. */
#include "sink.h"

#include "log.h"

#include <errno.h>
#include <string.h>

static const struct sink_ops *const sink_table[] = {
    &sink_stdout_ops,
    &sink_file_ops,
};

static const struct sink_ops *sink_find(const char *spec, const char **target)
{
	for (size_t i = 0; i < sizeof(sink_table) / sizeof(sink_table[0]); i++) {
		const char *scheme = sink_table[i]->scheme;
		size_t n = strlen(scheme);
		if (strncmp(spec, scheme, n) != 0)
			continue;
		if (spec[n] == '\0') {
			*target = "";
			return sink_table[i];
		}
		if (spec[n] == ':') {
			*target = spec + n + 1;
			return sink_table[i];
		}
	}
	return NULL;
}

const char *sink_check_spec(const char *spec)
{
	const char *target;
	const struct sink_ops *ops = sink_find(spec, &target);

	if (!ops)
		return "expected stdout or file:PATH";
	if (ops == &sink_file_ops && !*target)
		return "file: needs a path, as in file:/var/log/glimpse.json";
	return NULL;
}

int sink_open(struct sink **out, const char *spec, struct loop *loop)
{
	const char *target, *why = sink_check_spec(spec);
	const struct sink_ops *ops = sink_find(spec, &target);

	if (why) {
		log_error("output %s: %s", spec, why);
		return -EINVAL;
	}
	return ops->open(out, target, loop);
}
