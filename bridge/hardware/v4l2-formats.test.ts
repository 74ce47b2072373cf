import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseV4l2Formats, pickV4l2Format } from './v4l2-formats.ts';

// FFmpeg 5.1's `-f v4l2 -list_formats all -i /dev/video0` for a Logitech C920 (older firmware).
const C920 = `[video4linux2,v4l2 @ 0x55e0c8d1a440] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 160x90 160x120 176x144 320x180 320x240 352x288 432x240 640x360 800x448 800x600 864x480 960x720 1024x576 1280x720 1600x896 1920x1080 2304x1296 2304x1536
[video4linux2,v4l2 @ 0x55e0c8d1a440] Compressed:        h264 :                H.264 : 640x480 160x90 160x120 176x144 320x180 320x240 352x288 432x240 640x360 800x448 800x600 864x480 960x720 1024x576 1280x720 1600x896 1920x1080
[video4linux2,v4l2 @ 0x55e0c8d1a440] Compressed:       mjpeg :          Motion-JPEG : 640x480 160x90 160x120 176x144 320x180 320x240 352x288 432x240 640x360 800x448 800x600 864x480 960x720 1024x576 1280x720 1600x896 1920x1080
/dev/video0: Immediate exit requested`;

describe('V4L2 format choice', () => {
  test('reads the formats FFmpeg lists', () => {
    assert.deepEqual(parseV4l2Formats(C920), ['yuyv422', 'h264', 'mjpeg']);
    assert.deepEqual(parseV4l2Formats('/dev/video9: No such file or directory'), []);
  });

  test("the camera's own H.264 first, then its JPEGs, then raw YUYV", () => {
    assert.equal(pickV4l2Format(['yuyv422', 'h264', 'mjpeg']).format, 'h264');
    assert.equal(pickV4l2Format(['yuyv422', 'mjpeg']).format, 'mjpeg');
    assert.equal(pickV4l2Format(['yuyv422']).format, 'yuyv422');
    assert.match(pickV4l2Format(['yuyv422', 'mjpeg']).reason, /offers yuyv422, mjpeg: mjpeg chosen/);
  });

  test('a camera that lists nothing readable is tried in MJPEG, and the reason says so', () => {
    assert.deepEqual(pickV4l2Format([]), { format: 'mjpeg', reason: 'the camera listed no formats: mjpeg tried' });
    assert.equal(pickV4l2Format(['nv12']).format, 'mjpeg');
  });
});
