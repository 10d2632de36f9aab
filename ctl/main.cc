#include "ctl/cli.h"

int main(int argc, char** argv) { return berth::ctl::Main(argc, argv); }
