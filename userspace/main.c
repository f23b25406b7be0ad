/* main.c: glimpse, a Kubernetes node agent. Reads the settings and runs the agent. */
#include "agent.h"
#include "config.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct config cfg;
	enum config_action action = config_load(&cfg, argc, argv);
	int status;

	if (action != CONFIG_RUN) {
		config_free(&cfg);
		return action == CONFIG_EXIT_OK ? 0 : 2;
	}
	log_set_level(cfg.log_level);
	status = agent_run(&cfg);
	config_free(&cfg);
	return status;
}
