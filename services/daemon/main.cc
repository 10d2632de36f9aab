#include "services/daemon/daemon_main.h"

int main(int argc, char** argv) { return berth::daemon::Main(argc, argv); }
