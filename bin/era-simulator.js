#!/usr/bin/env node
'use strict';
// The simulator is compiled with the package (`npm run build`); this only starts it.
require('../dist/simulator/cli.js').main();
