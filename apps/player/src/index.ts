export { buyVideo, PurchaseFailedError, type BuyOptions, type BuyProgress } from './buy-video.js';
