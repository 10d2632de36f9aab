#include "runtime/cli/cli.h"

int main(int argc, char** argv) { return berth::runtime::cli::Main(argc, argv); }
