export { runFigure1, type Figure1Result } from './figure-1.js';
export { figure2Arrows, FIGURE_2_ORDER, STEP_CODE, type Figure2Arrow } from './figure-2-trace.js';
export { PARTIES } from './parties.js';
