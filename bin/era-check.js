#!/usr/bin/env node
'use strict';
// The report is compiled with the package (`npm run build`); this only starts it.
require('../dist/check/cli.js').run();
