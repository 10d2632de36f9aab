#include "services/snapshots/standalone/standalone.h"

int main(int argc, char** argv) { return berth::snapshots_standalone::Main(argc, argv); }
