export { runFigure1, type Figure1Result } from './figure-1.js';
